//! Description of the machine a comparison runs on.

use std::time::{SystemTime, UNIX_EPOCH};

/// SIMD extensions worth naming in a benchmark record, in `/proc/cpuinfo` spelling.
const ISA_FLAGS: &[&str] = &[
    "sse4_2", "avx", "avx2", "fma", "f16c", "popcnt", "avx_vnni", "avx512f", "avx512bw", "avx512vl", "avx512_vnni",
    "avx512_vpopcntdq", "asimd", "asimddp", "sve",
];

/// CPU model name, logical CPU count and SIMD flags.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Machine {
    pub cpu: String,
    pub cores: usize,
    pub isa_flags: String,
}

impl Machine {
    /// Reads `/proc/cpuinfo`; fields it cannot read become `unknown`.
    pub fn detect() -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        parse_cpuinfo(&cpuinfo, cores)
    }
}

/// Extracts the model name and the listed SIMD flags from `/proc/cpuinfo` text.
pub fn parse_cpuinfo(text: &str, cores: usize) -> Machine {
    let field = |names: &[&str]| {
        text.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            names.contains(&key.trim()).then(|| value.trim().to_string())
        })
    };
    let cpu = field(&["model name", "Model name", "CPU part"]).unwrap_or_else(|| "unknown".into());
    let flags = field(&["flags", "Features"]).unwrap_or_default();
    let present: Vec<&str> = flags.split_whitespace().filter(|flag| ISA_FLAGS.contains(flag)).collect();
    let isa_flags = if present.is_empty() { "unknown".to_string() } else { present.join(" ") };
    Machine { cpu, cores, isa_flags }
}

/// Returns the current UTC time as RFC 3339, for example `2026-12-04T22:05:00Z`.
pub fn utc_now() -> String {
    let seconds = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    format_utc(seconds)
}

/// Formats Unix seconds as RFC 3339 UTC.
pub fn format_utc(unix_seconds: u64) -> String {
    let days = (unix_seconds / 86_400) as i64;
    let seconds_of_day = unix_seconds % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        seconds_of_day / 3600,
        seconds_of_day / 60 % 60,
        seconds_of_day % 60
    )
}

/// Converts days since 1970-01-01 to a proleptic Gregorian date, counting in
/// 400-year eras that start on March 1 so leap days fall at the end of a year.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 { month_index + 3 } else { month_index - 9 } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_format_known_dates() {
        assert_eq!(format_utc(0), "1970-01-01T00:00:00Z");
        // `date -u -d @951782400` is 2000-02-29 00:00:00, a leap day.
        assert_eq!(format_utc(951_782_400), "2000-02-29T00:00:00Z");
        // `date -u -d @1796421905` is 2026-12-04 22:05:05.
        assert_eq!(format_utc(1_796_421_905), "2026-12-04T22:05:05Z");
    }

    #[test]
    fn cpuinfo_x86() {
        let text = "processor\t: 0\nmodel name\t: AMD EPYC\nflags\t\t: fpu sse4_2 avx avx2 fma popcnt\n";
        let machine = parse_cpuinfo(text, 2);
        assert_eq!(machine.cpu, "AMD EPYC");
        assert_eq!(machine.isa_flags, "sse4_2 avx avx2 fma popcnt");
        assert_eq!(machine.cores, 2);
    }

    #[test]
    fn cpuinfo_missing_fields() {
        let machine = parse_cpuinfo("", 4);
        assert_eq!(machine.cpu, "unknown");
        assert_eq!(machine.isa_flags, "unknown");
    }
}
