//! Random partitions of a layer's weights into frozen and relaxed entries.
//!
//! At each partition step, RPR relaxes a uniformly random subset of exactly
//! `round((1 - FF) * n)` of a layer's `n` weights and freezes the rest, where
//! FF is the freezing fraction. The subset depends only on a
//! [`PartitionKey`] (run seed, layer name, step), never on thread count or
//! call order. Both the seed derivation and the sampling are written out here,
//! so that a change in `rand` cannot change the masks:
//!
//! 1. Seed derivation: the message is the ASCII tag `rpr-partition-v1`
//!    followed by four fields. These are the run seed, the step and the byte
//!    length of the layer name, each as 8 little-endian bytes, and then the
//!    UTF-8 bytes of the layer name. Its 64-bit FNV-1a hash (offset basis
//!    `0xcbf29ce484222325`, prime `0x100000001b3`) seeds a SplitMix64
//!    generator, and four SplitMix64 outputs, each as 8 little-endian bytes,
//!    form the 32-byte ChaCha8 key ([`rand_chacha::ChaCha8Rng::from_seed`],
//!    stream 0).
//! 2. Bounded integers: Lemire's multiply-shift method with rejection turns
//!    ChaCha8 64-bit outputs (two consecutive 32-bit keystream words, the
//!    first one as the low half) into exactly uniform integers below a bound.
//! 3. Sampling: Robert Floyd's algorithm draws a uniform `m`-subset of
//!    `0..n` with exactly `m` bounded draws. For `j = n - m, ..., n - 1` in
//!    that order, it draws `t` below `j + 1` and adds `t`, or `j` when `t` is
//!    already in the subset. When more than half of the entries are relaxed,
//!    it draws the frozen subset instead and inverts it, so a step never
//!    takes more than `n / 2` draws.

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use thiserror::Error;

/// Error of the partition functions.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum PartitionError {
    /// The freezing fraction is NaN, infinite or outside [0, 1].
    #[error("freezing fraction {ff} is invalid; it must be a number in [0, 1] (0 relaxes every weight, 1 freezes every weight)")]
    InvalidFf {
        /// The offending value.
        ff: f32,
    },
}

/// Identifies one partition draw: the run seed, the layer and the partition
/// step (for example the epoch).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PartitionKey<'a> {
    /// Seed of the training run.
    pub seed: u64,
    /// Layer name, for example `layer1.0.conv1`.
    pub layer: &'a str,
    /// Partition step counter, for example the epoch.
    pub step: u64,
}

impl<'a> PartitionKey<'a> {
    /// Builds a key from its three parts.
    pub fn new(seed: u64, layer: &'a str, step: u64) -> Self {
        Self { seed, layer, step }
    }

    /// Derives the 32-byte ChaCha8 key for this draw, as described in the
    /// module documentation.
    pub fn rng_seed(&self) -> [u8; 32] {
        let mut hash = Fnv1a64::new();
        hash.write(b"rpr-partition-v1");
        hash.write(&self.seed.to_le_bytes());
        hash.write(&self.step.to_le_bytes());
        hash.write(&(self.layer.len() as u64).to_le_bytes());
        hash.write(self.layer.as_bytes());

        let mut state = hash.finish();
        let mut seed = [0u8; 32];
        for chunk in seed.chunks_exact_mut(8) {
            chunk.copy_from_slice(&splitmix64(&mut state).to_le_bytes());
        }
        seed
    }
}

/// Returns how many of `n` entries a freezing fraction `ff` relaxes:
/// `round((1 - ff) * n)`, computed in f64 from the f32 value of `ff`, with
/// halves rounded away from zero.
///
/// # Errors
///
/// [`PartitionError::InvalidFf`] if `ff` is NaN or outside [0, 1].
pub fn relaxed_count(n: usize, ff: f32) -> Result<usize, PartitionError> {
    if !(0.0..=1.0).contains(&ff) {
        return Err(PartitionError::InvalidFf { ff });
    }
    let relaxed = ((1.0 - f64::from(ff)) * n as f64).round();
    // `relaxed` lies in [0, n] up to float rounding, so the clamp only guards
    // against a count one above `n` for huge `n`.
    Ok((relaxed as usize).min(n))
}

/// Draws the relaxed mask of `n` entries: `true` marks a relaxed entry, and
/// exactly [`relaxed_count`]`(n, ff)` entries are `true`. Every subset of that
/// size is equally likely, and the same key always gives the same mask.
///
/// # Errors
///
/// [`PartitionError::InvalidFf`] if `ff` is NaN or outside [0, 1].
pub fn relaxed_mask(n: usize, ff: f32, key: &PartitionKey) -> Result<Vec<bool>, PartitionError> {
    let relaxed = relaxed_count(n, ff)?;
    let mut rng = ChaCha8Rng::from_seed(key.rng_seed());

    if relaxed <= n / 2 {
        Ok(floyd_subset(n, relaxed, &mut rng))
    } else {
        let frozen = floyd_subset(n, n - relaxed, &mut rng);
        Ok(frozen.into_iter().map(|is_frozen| !is_frozen).collect())
    }
}

/// Draws the relaxed entries as sorted indices; the same set as
/// [`relaxed_mask`] for the same arguments.
///
/// # Errors
///
/// [`PartitionError::InvalidFf`] if `ff` is NaN or outside [0, 1].
pub fn relaxed_indices(
    n: usize,
    ff: f32,
    key: &PartitionKey,
) -> Result<Vec<usize>, PartitionError> {
    let mask = relaxed_mask(n, ff, key)?;
    Ok(mask
        .iter()
        .enumerate()
        .filter_map(|(i, &relaxed)| relaxed.then_some(i))
        .collect())
}

/// Floyd's algorithm: for `j` in `n - m .. n`, draw `t` uniformly from
/// `0..=j` and take `t`, or `j` if `t` is already taken. The result is a
/// uniformly random `m`-subset of `0..n`, as a membership mask.
fn floyd_subset(n: usize, m: usize, rng: &mut ChaCha8Rng) -> Vec<bool> {
    let mut taken = vec![false; n];
    for j in (n - m)..n {
        let t = uniform_below(rng, j as u64 + 1) as usize;
        if taken[t] {
            taken[j] = true;
        } else {
            taken[t] = true;
        }
    }
    taken
}

/// Returns a uniform integer in `0..bound` (`bound > 0`) by Lemire's method:
/// the high half of `x * bound` is the result, and draws whose low half falls
/// below `2^64 mod bound` are rejected to remove the bias.
fn uniform_below(rng: &mut ChaCha8Rng, bound: u64) -> u64 {
    let threshold = bound.wrapping_neg() % bound;
    loop {
        let product = u128::from(rng.next_u64()) * u128::from(bound);
        if product as u64 >= threshold {
            return (product >> 64) as u64;
        }
    }
}

/// 64-bit FNV-1a hash.
struct Fnv1a64(u64);

impl Fnv1a64 {
    fn new() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 ^= u64::from(byte);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// One SplitMix64 step: advance the state by the golden-ratio increment and
/// return the mixed state.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
