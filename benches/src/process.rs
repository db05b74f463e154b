//! Child processes with a time limit: the compare binary's workers and the
//! ONNX Runtime script. A child still running at the time limit is killed,
//! so one stuck engine cannot block the whole comparison.

use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

use thiserror::Error;

/// Time after which the comparison kills a worker or the ONNX Runtime
/// script. The slowest default configuration, ResNet-18 at 224x224 and
/// batch 64 in rpr-infer f32 or tract, takes about 30 s per process on one
/// core of an AVX-512 server (an estimate from the batch-64 times of a
/// comparison run).
pub const PROCESS_TIMEOUT: Duration = Duration::from_secs(20 * 60);

/// Interval at which the parent checks whether a child has exited.
const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// Failure to start a child or to see it exit in time.
#[derive(Debug, Error)]
pub enum ProcessError {
    #[error("failed to start {program}: {source}")]
    Start { program: String, source: std::io::Error },
    #[error("failed to wait for {program}: {source}")]
    Wait { program: String, source: std::io::Error },
    #[error("{program} timed out after {} s and was killed", timeout.as_secs_f64())]
    TimedOut { program: String, timeout: Duration },
}

/// Starts `command` and waits up to `timeout` for it to exit. The caller
/// sets stdin, stdout and stderr. Use files, not pipes, because this
/// function reads neither stream and a full pipe would stall the child.
pub fn run_with_timeout(command: &mut Command, timeout: Duration) -> Result<ExitStatus, ProcessError> {
    let program = command.get_program().to_string_lossy().into_owned();
    let mut child = command.spawn().map_err(|source| ProcessError::Start { program: program.clone(), source })?;
    wait_with_timeout(&mut child, timeout, &program)
}

fn wait_with_timeout(child: &mut Child, timeout: Duration, program: &str) -> Result<ExitStatus, ProcessError> {
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ok(status),
            Ok(None) if start.elapsed() < timeout => std::thread::sleep(POLL_INTERVAL),
            Ok(None) => {
                // The kill can only fail if the child exited in between, and wait() reaps it either way.
                let _ = child.kill();
                let _ = child.wait();
                return Err(ProcessError::TimedOut { program: program.to_string(), timeout });
            }
            Err(source) => return Err(ProcessError::Wait { program: program.to_string(), source }),
        }
    }
}

/// Returns the last `count` lines of `text`, or `(empty)`.
pub fn tail_lines(text: &str, count: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(count)..].join("\n");
    if tail.trim().is_empty() {
        "(empty)".into()
    } else {
        tail
    }
}

#[cfg(test)]
mod tests {
    use std::process::Stdio;

    use super::*;

    #[test]
    fn exit_status_returned() {
        let status = run_with_timeout(Command::new("/bin/sh").args(["-c", "exit 3"]), Duration::from_secs(30)).unwrap();
        assert_eq!(status.code(), Some(3));
    }

    #[test]
    fn hanging_child_killed() {
        let start = Instant::now();
        let mut command = Command::new("/bin/sleep");
        command.arg("30").stdout(Stdio::null());
        let error = run_with_timeout(&mut command, Duration::from_millis(300)).unwrap_err();
        assert!(matches!(error, ProcessError::TimedOut { .. }), "{error}");
        assert!(error.to_string().contains("timed out after 0.3 s"), "{error}");
        assert!(start.elapsed() < Duration::from_secs(10), "waited {:?}", start.elapsed());
    }

    #[test]
    fn missing_program_is_start_error() {
        let error = run_with_timeout(&mut Command::new("/no/such/program"), Duration::from_secs(1)).unwrap_err();
        assert!(error.to_string().contains("failed to start /no/such/program"), "{error}");
    }

    #[test]
    fn tail_of_text() {
        assert_eq!(tail_lines("a\nb\nc\n", 2), "b\nc");
        assert_eq!(tail_lines("", 5), "(empty)");
    }
}
