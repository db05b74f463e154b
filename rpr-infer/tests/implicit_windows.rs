//! The implicit-GEMM kernels against the definition of [`Windows`], on
//! arbitrary placements: every GEMM row's reduction is read from the image
//! at the offsets the windows describe, and windows that reach past the
//! image are rejected before any SIMD code runs.

use ndarray::Array2;
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rpr_core::pack::{pack, Encoding};
use rpr_infer::kernels::{
    kernel_set, ConvGemmFn, ConvOutput, Isa, KernelError, KernelSet, Windows,
};

/// Returns the detected set when it has implicit-GEMM kernels.
fn implicit_set() -> Option<KernelSet> {
    let set = kernel_set(Isa::Avx512).or_else(|| kernel_set(Isa::Neon))?;
    set.ternary_u8_conv.map(|_| set)
}

/// Computes the sums of row `i`: `sum_k code[j][k] * image[offset(i) + run(k) + k % tap_len]`, from the
/// definition in the documentation of [`Windows`].
fn reference(image: &[u8], windows: &Windows, codes: &Array2<i8>) -> Vec<i32> {
    let per_image = windows.out_h * windows.out_w;
    let mut sums = Vec::with_capacity(windows.rows * codes.nrows());
    for i in 0..windows.rows {
        let pixel = windows.first + i;
        let (n, within) = (pixel / per_image, pixel % per_image);
        let start = n * windows.image_step
            + within / windows.out_w * windows.row_step
            + within % windows.out_w * windows.col_step;
        for code_row in codes.rows() {
            let mut sum = 0i32;
            for (k, &code) in code_row.iter().enumerate() {
                let byte =
                    image[start + k / windows.tap_len * windows.tap_step + k % windows.tap_len];
                sum += i32::from(code) * i32::from(byte);
            }
            sums.push(sum);
        }
    }
    sums
}

/// A placement with a grid of `out_h x out_w` pixels and runs of `taps x tap_len` bytes.
#[derive(Clone, Debug)]
struct Case {
    windows: Windows,
    o: usize,
    binary: bool,
    seed: u64,
}

fn case() -> impl Strategy<Value = Case> {
    (
        1usize..4,
        1usize..6,
        1usize..4,
        1usize..6,
        0usize..20,
        1usize..40,
        (1usize..80, 0usize..7, 0usize..5),
        (1usize..70, any::<bool>(), any::<u64>()),
    )
        .prop_map(
            |(
                out_h,
                out_w,
                taps,
                tap_words,
                first,
                rows,
                (row_extra, col_step, tap_extra),
                (o, binary, seed),
            )| {
                let tap_len = 4 * tap_words;
                let tap_step = tap_len + tap_extra;
                // Steps may overlap (as adjacent 3x3 windows do) or leave gaps.
                let col_step = 4 * col_step;
                let row_step = out_w * col_step + row_extra;
                let image_step = out_h * row_step + taps * tap_step;
                let windows = Windows {
                    rows,
                    first,
                    out_h,
                    out_w,
                    image_step,
                    row_step,
                    col_step,
                    taps,
                    tap_step,
                    tap_len,
                };
                Case {
                    windows,
                    o,
                    binary,
                    seed,
                }
            },
        )
}

/// Bytes that the windows of `case` read, the exact image length they need.
fn needed_len(windows: &Windows) -> usize {
    (0..windows.rows)
        .map(|i| {
            let pixel = windows.first + i;
            let per_image = windows.out_h * windows.out_w;
            let (n, within) = (pixel / per_image, pixel % per_image);
            n * windows.image_step
                + within / windows.out_w * windows.row_step
                + within % windows.out_w * windows.col_step
        })
        .max()
        .unwrap_or(0)
        + (windows.taps - 1) * windows.tap_step
        + windows.tap_len
}

fn run(
    kernel: ConvGemmFn,
    image: &[u8],
    case: &Case,
    w: &rpr_core::pack::PackedView<'_>,
) -> Result<Vec<i32>, KernelError> {
    let mut sums = vec![0i32; case.windows.rows * case.o];
    kernel(image, &case.windows, w, None, ConvOutput::Sums(&mut sums))?;
    Ok(sums)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, rng_seed: proptest::test_runner::RngSeed::Fixed(23), ..ProptestConfig::default() })]

    #[test]
    fn sums_follow_the_window_definition(case in case()) {
        let Some(set) = implicit_set() else {
            eprintln!("SKIPPED: this CPU has no implicit-GEMM kernels");
            return Ok(());
        };
        let windows = &case.windows;
        let k = windows.taps * windows.tap_len;
        let mut rng = ChaCha8Rng::seed_from_u64(case.seed);
        let codes = Array2::from_shape_fn((case.o, k), |_| {
            if case.binary { [-1, 1][rng.gen_range(0..2)] } else { rng.gen_range(-1i8..=1) }
        });
        let (encoding, kernel) = if case.binary {
            (Encoding::Binary, set.binary_u8_conv.expect("binary implicit kernel"))
        } else {
            (Encoding::Ternary2, set.ternary_u8_conv.expect("ternary implicit kernel"))
        };
        let packed = pack(codes.view(), encoding).expect("valid codes");
        let len = needed_len(windows);
        let image: Vec<u8> = (0..len).map(|_| rng.gen()).collect();

        let sums = run(kernel, &image, &case, &packed.view()).expect("windows inside the image");
        prop_assert_eq!(sums, reference(&image, windows, &codes));

        // One byte short: rejected with the byte count, before the kernel reads.
        let short = run(kernel, &image[..len - 1], &case, &packed.view());
        prop_assert!(matches!(short, Err(KernelError::WindowsOutOfBounds { needed, actual }) if needed == len && actual == len - 1), "{:?}", short);
    }
}
