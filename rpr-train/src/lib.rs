//! Random Partition Relaxation retraining on tch.
