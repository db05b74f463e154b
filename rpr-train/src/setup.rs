//! Building networks from architecture names or checkpoint directories.

use std::path::Path;

use rpr_core::checkpoint::Checkpoint;
use rpr_core::zoo::{self, ZooConfig};
use tch::Device;

use crate::data::DataSplits;
use crate::error::{Result, TrainError};
use crate::net::Network;

/// Builds a zoo architecture sized for `data` (channels, image side,
/// classes) with fresh parameters.
pub fn build_network(arch: &str, data: &DataSplits, upsample_to: Option<usize>, device: Device) -> Result<Network> {
    let [channels, height, width] = data.image_shape();
    if height != width {
        return Err(TrainError::Config(format!(
            "images are {height}x{width}; the zoo architectures expect square images"
        )));
    }
    let cfg = ZooConfig {
        input_channels: channels,
        input_size: height,
        num_classes: data.num_classes(),
        upsample_to,
    };
    Network::new(zoo::build(arch, &cfg)?, device)
}

/// Loads a checkpoint directory (model.json, weights.safetensors and
/// optionally quant.json) into a new network.
pub fn load_network(dir: &Path, device: Device) -> Result<(Network, Checkpoint)> {
    let checkpoint = Checkpoint::load(dir)?;
    let net = Network::new(checkpoint.model.clone(), device)?;
    net.load_tensors(&checkpoint.tensors, &dir.join("weights.safetensors"))?;
    Ok((net, checkpoint))
}

/// Checks that the network's input matches the dataset's images.
pub fn check_input_matches(net: &Network, data: &DataSplits) -> Result<()> {
    let model = net.model().input_shape;
    let images = data.image_shape();
    if model != images {
        return Err(TrainError::Config(format!(
            "model `{}` expects inputs {:?} but the dataset's images are {:?}; pick the dataset \
             the checkpoint was trained on",
            net.model().name,
            model,
            images
        )));
    }
    Ok(())
}
