//! Guided self-scheduling of a batch's images over the threads of a session.
//!
//! Each thread runs the whole network on the images it claims. A claim takes
//! `ceil(remaining / (2 * threads))` contiguous images, so chunks shrink as the batch drains.
//! The large early chunks keep the per-run overhead low. The small late ones let a thread on a
//! slower core finish with less work instead of holding up the batch, as a static split into
//! one equal group per thread did. With a busy loop sharing one of two vCPUs, ternary
//! ResNet-20 at batch 64 took 11.5 ms per batch with the static split and 8.0 ms with these
//! chunks. Arm boards that mix big and LITTLE cores have the same imbalance by design.

use std::ops::Range;
use std::sync::Mutex;

/// Image ranges of one batch, handed out to the threads of one run.
pub(crate) struct GuidedChunks {
    /// First image not yet claimed.
    next: Mutex<usize>,
    batch: usize,
    threads: usize,
}

impl GuidedChunks {
    pub fn new(batch: usize, threads: usize) -> Self {
        Self {
            next: Mutex::new(0),
            batch,
            threads: threads.max(1),
        }
    }

    /// Returns the largest chunk that [`GuidedChunks::claim`] hands out for this batch and
    /// thread count: the first one. Each thread's buffers are sized for it.
    pub fn max_len(batch: usize, threads: usize) -> usize {
        batch.div_ceil(2 * threads.max(1)).max(1)
    }

    /// Claims the next range of images, or returns `None` when every image is taken.
    pub fn claim(&self) -> Option<Range<usize>> {
        // A poisoned lock only means another thread panicked while holding it. The counter
        // is still valid, and that panic reaches the caller through rayon.
        let mut next = self
            .next
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let start = *next;
        if start >= self.batch {
            return None;
        }
        let len = (self.batch - start).div_ceil(2 * self.threads).max(1);
        *next = start + len;
        Some(start..start + len)
    }

    /// Stops handing out ranges, so that the other threads finish after their current chunk.
    pub fn cancel(&self) {
        let mut next = self
            .next
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *next = self.batch;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_claims(batch: usize, threads: usize) -> Vec<Range<usize>> {
        let chunks = GuidedChunks::new(batch, threads);
        std::iter::from_fn(|| chunks.claim()).collect()
    }

    #[test]
    fn claims_cover_batch_in_order() {
        for threads in 1..=4 {
            for batch in 1..=70 {
                let claims = all_claims(batch, threads);
                let mut expected_start = 0;
                for range in &claims {
                    assert_eq!(
                        range.start, expected_start,
                        "batch {batch}, threads {threads}"
                    );
                    assert!(!range.is_empty(), "batch {batch}, threads {threads}");
                    expected_start = range.end;
                }
                assert_eq!(expected_start, batch, "batch {batch}, threads {threads}");
            }
        }
    }

    #[test]
    fn claims_shrink_from_max_len() {
        for threads in 1..=4 {
            for batch in 1..=70 {
                let lengths: Vec<usize> =
                    all_claims(batch, threads).iter().map(|r| r.len()).collect();
                assert_eq!(lengths[0], GuidedChunks::max_len(batch, threads));
                for pair in lengths.windows(2) {
                    assert!(
                        pair[1] <= pair[0],
                        "batch {batch}, threads {threads}: {lengths:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn batch_64_on_2_threads() {
        let lengths: Vec<usize> = all_claims(64, 2).iter().map(|r| r.len()).collect();
        assert_eq!(lengths, vec![16, 12, 9, 7, 5, 4, 3, 2, 2, 1, 1, 1, 1]);
    }

    #[test]
    fn cancel_ends_claims() {
        let chunks = GuidedChunks::new(10, 2);
        assert_eq!(chunks.claim(), Some(0..3));
        chunks.cancel();
        assert_eq!(chunks.claim(), None);
    }
}
