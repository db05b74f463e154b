//! Datasets stored as one folder of JPEG or PNG files per class, the layout
//! of torchvision's `ImageFolder` (for example an ImageNet validation set).

use std::fs;
use std::path::{Path, PathBuf};

use image::imageops::{self, FilterType};
use image::{DynamicImage, ImageReader};
use ndarray::Array4;

use super::read::io_error;
use super::{DataError, Dataset};

/// File extensions decoded as images, compared case-insensitively.
pub const IMAGE_EXTENSIONS: [&str; 3] = ["jpg", "jpeg", "png"];

/// Loads every JPEG and PNG image under `root/<class>/` (searched
/// recursively), with class names and labels in sorted folder-name order.
///
/// Each image is converted to `channels` channels (1 = luma, 3 = RGB, alpha
/// is dropped), resized with bilinear filtering so its shorter side is
/// `size`, and center-cropped to `size x size`. Files with other extensions
/// are skipped with one warning. Folders whose name starts with `.` are not
/// classes. Returns [`DataError::EmptyFolder`] if `root` has no class folder
/// or a class folder has no image, and [`DataError::Image`] for a file that
/// fails to decode.
pub fn load_image_folder(root: &Path, size: usize, channels: usize) -> Result<Dataset, DataError> {
    check_arguments(size, channels)?;
    let class_dirs = class_folders(root)?;
    if class_dirs.len() > usize::from(u8::MAX) + 1 {
        return Err(DataError::TooManyClasses {
            path: root.to_path_buf(),
            count: class_dirs.len(),
        });
    }

    let mut pixels = Vec::new();
    let mut labels = Vec::new();
    let mut classes = Vec::with_capacity(class_dirs.len());
    let mut skipped = Vec::new();
    for (label, dir) in class_dirs.iter().enumerate() {
        let mut files = Vec::new();
        collect_files(dir, &mut files)?;
        files.sort();
        let (images, others): (Vec<PathBuf>, Vec<PathBuf>) = files
            .into_iter()
            .partition(|path| has_image_extension(path));
        skipped.extend(others);
        if images.is_empty() {
            return Err(DataError::EmptyFolder {
                path: dir.clone(),
                reason: format!(
                    "expected JPEG or PNG files ({})",
                    IMAGE_EXTENSIONS.join(", ")
                ),
            });
        }

        for path in &images {
            let image = decode(path)?;
            append_chw(&image, size, channels, &mut pixels);
            // The class count check above guarantees that the label fits.
            labels.push(label as u8);
        }
        classes.push(
            dir.file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
        );
    }
    if let Some(first) = skipped.first() {
        tracing::warn!(
            count = skipped.len(),
            first = %first.display(),
            root = %root.display(),
            "skipped files that are not JPEG or PNG"
        );
    }

    let count = labels.len();
    let images = Array4::from_shape_vec((count, channels, size, size), pixels)
        .expect("each image adds exactly channels x size x size pixels");
    Ok(Dataset {
        images,
        labels,
        classes,
        name: format!("image-folder:{}", root.display()),
    })
}

fn check_arguments(size: usize, channels: usize) -> Result<(), DataError> {
    if size == 0 || size > u32::MAX as usize {
        return Err(DataError::InvalidArgument {
            name: "image size",
            value: size.to_string(),
            reason: "expected a side length in pixels of at least 1".to_string(),
        });
    }
    if channels != 1 && channels != 3 {
        return Err(DataError::InvalidArgument {
            name: "channel count",
            value: channels.to_string(),
            reason: "expected 1 (grayscale) or 3 (RGB)".to_string(),
        });
    }
    Ok(())
}

/// Subfolders of `root` in sorted order, without hidden ones.
fn class_folders(root: &Path) -> Result<Vec<PathBuf>, DataError> {
    let entries = fs::read_dir(root).map_err(|e| io_error(root, "image folder", e))?;
    let mut dirs = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| io_error(root, "image folder", e))?;
        let path = entry.path();
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        if path.is_dir() && !hidden {
            dirs.push(path);
        }
    }
    if dirs.is_empty() {
        return Err(DataError::EmptyFolder {
            path: root.to_path_buf(),
            reason: "expected one subfolder per class".to_string(),
        });
    }
    dirs.sort();
    Ok(dirs)
}

/// Appends every file below `dir` to `files`, descending into subfolders.
fn collect_files(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), DataError> {
    let entries = fs::read_dir(dir).map_err(|e| io_error(dir, "class folder", e))?;
    for entry in entries {
        let path = entry.map_err(|e| io_error(dir, "class folder", e))?.path();
        if path.is_dir() {
            collect_files(&path, files)?;
        } else {
            files.push(path);
        }
    }
    Ok(())
}

fn has_image_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|ext| ext.to_str())
        .is_some_and(|ext| {
            IMAGE_EXTENSIONS
                .iter()
                .any(|known| ext.eq_ignore_ascii_case(known))
        })
}

/// Decodes an image, detecting the format from its content, and rejects an
/// image without pixels.
fn decode(path: &Path) -> Result<DynamicImage, DataError> {
    let image_error = |source| DataError::Image {
        path: path.to_path_buf(),
        source,
    };
    let image = ImageReader::open(path)
        .map_err(|e| io_error(path, "image", e))?
        .with_guessed_format()
        .map_err(|e| io_error(path, "image", e))?
        .decode()
        .map_err(image_error)?;
    if image.width() == 0 || image.height() == 0 {
        return Err(DataError::InvalidHeader {
            path: path.to_path_buf(),
            reason: format!(
                "image size {}x{} has no pixels",
                image.width(),
                image.height()
            ),
        });
    }
    Ok(image)
}

/// Resizes the shorter side to `size`, center-crops to `size x size` and
/// appends the pixels in CHW order.
fn append_chw(image: &DynamicImage, size: usize, channels: usize, out: &mut Vec<u8>) {
    let side = size as u32;
    let (width, height) = (image.width(), image.height());
    let (new_width, new_height) = scaled_to_shorter_side(width, height, side);
    let left = (new_width - side) / 2;
    let top = (new_height - side) / 2;

    if channels == 1 {
        let resized = imageops::resize(
            &image.to_luma8(),
            new_width,
            new_height,
            FilterType::Triangle,
        );
        let crop = imageops::crop_imm(&resized, left, top, side, side).to_image();
        out.extend_from_slice(crop.as_raw());
    } else {
        let resized = imageops::resize(
            &image.to_rgb8(),
            new_width,
            new_height,
            FilterType::Triangle,
        );
        let crop = imageops::crop_imm(&resized, left, top, side, side).to_image();
        // The buffer is HWC; write each channel plane in turn.
        for c in 0..3 {
            out.extend(crop.pixels().map(|p| p.0[c]));
        }
    }
}

/// New `(width, height)` with the shorter side equal to `side` and the aspect
/// ratio kept, the longer side rounded to the nearest pixel.
fn scaled_to_shorter_side(width: u32, height: u32, side: u32) -> (u32, u32) {
    let scale_long = |long: u32, short: u32| {
        let scaled = (u64::from(long) * u64::from(side) + u64::from(short) / 2) / u64::from(short);
        (scaled as u32).max(side)
    };
    if width <= height {
        (side, scale_long(height, width))
    } else {
        (scale_long(width, height), side)
    }
}
