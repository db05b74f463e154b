//! Backing bytes of an opened `.rpr` file: a read-only memory map or an owned
//! buffer aligned to [`ALIGN`](super::container::ALIGN).

use std::fs::File;
use std::path::Path;

use memmap2::Mmap;

use super::error::FormatError;

/// One 64-byte block; a `Vec` of these is a 64-byte aligned byte buffer.
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(C, align(64))]
pub(crate) struct Block([u8; 64]);

pub(crate) enum Storage {
    Mapped(Mmap),
    Owned { blocks: Vec<Block>, len: usize },
}

impl Storage {
    pub(crate) fn map(path: &Path) -> Result<Storage, FormatError> {
        let io_error = |source| FormatError::Io { path: path.to_path_buf(), source };
        let file = File::open(path).map_err(io_error)?;
        let len = file.metadata().map_err(io_error)?.len();
        if len == 0 {
            // Mapping an empty file fails on some platforms; an empty buffer
            // gives the ordinary "too short" error instead.
            return Ok(Storage::from_vec(Vec::new()));
        }
        // SAFETY: the map is read-only and private to this process. The file
        // must not be truncated or rewritten while it is mapped; rpr's writers
        // replace files by rename, which leaves an existing map intact. A
        // concurrent in-place writer would break the checksums validated at
        // open, and it is outside what this reader supports.
        let map = unsafe { Mmap::map(&file) }.map_err(io_error)?;
        Ok(Storage::Mapped(map))
    }

    pub(crate) fn from_vec(bytes: Vec<u8>) -> Storage {
        let len = bytes.len();
        let mut blocks = vec![Block([0; 64]); len.div_ceil(64)];
        bytemuck::cast_slice_mut::<Block, u8>(&mut blocks)[..len].copy_from_slice(&bytes);
        Storage::Owned { blocks, len }
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        match self {
            Storage::Mapped(map) => map,
            Storage::Owned { blocks, len } => &bytemuck::cast_slice::<Block, u8>(blocks)[..*len],
        }
    }
}
