//! Choice of the libtorch device.

use std::str::FromStr;

use tch::Device;

use crate::error::TrainError;

/// Device requested on the command line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DeviceChoice {
    /// The CPU, where a rerun with the same seed and thread count gives the same weights.
    #[default]
    Cpu,
    /// The first CUDA device; an error if there is none.
    Cuda,
    /// CUDA if libtorch detects a GPU, otherwise the CPU.
    Auto,
}

impl DeviceChoice {
    /// Resolves the choice to a libtorch device.
    ///
    /// NOTE: training has only run on the CPU; the CUDA path is untested.
    pub fn resolve(self) -> Result<Device, TrainError> {
        match self {
            DeviceChoice::Cpu => Ok(Device::Cpu),
            DeviceChoice::Cuda if tch::Cuda::is_available() => Ok(Device::Cuda(0)),
            DeviceChoice::Cuda => Err(TrainError::Config(
                "--device cuda was requested but libtorch finds no CUDA device; use --device cpu"
                    .into(),
            )),
            DeviceChoice::Auto => Ok(Device::cuda_if_available()),
        }
    }
}

impl FromStr for DeviceChoice {
    type Err = TrainError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "cpu" => Ok(DeviceChoice::Cpu),
            "cuda" => Ok(DeviceChoice::Cuda),
            "auto" => Ok(DeviceChoice::Auto),
            other => Err(TrainError::Config(format!(
                "unknown device `{other}`; expected cpu, cuda or auto"
            ))),
        }
    }
}
