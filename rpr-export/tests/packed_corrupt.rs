//! The `.rpr` reader on corrupt, truncated and hostile files: every case must
//! return an error, never panic or succeed.

mod common;

use prost::Message;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rpr_core::quant::{Bits, Granularity};
use rpr_export::packed::proto::{self, node, Header};
use rpr_export::packed::{
    encode_rpr, patch_tensor, FormatError, PackOptions, RprFile, TensorDType, ALIGN, PREAMBLE_LEN,
};

use common::{random_checkpoint, tiny_model};

fn valid_file() -> Vec<u8> {
    let checkpoint = random_checkpoint(tiny_model(), Some(Bits::Ternary), Granularity::PerChannel, 23);
    encode_rpr(&checkpoint, &PackOptions::default()).unwrap()
}

fn read_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap())
}

/// Length of the stored (compressed) header.
fn header_len(bytes: &[u8]) -> usize {
    read_u32(bytes, 12) as usize
}

fn decode_header(bytes: &[u8]) -> Header {
    let stored = &bytes[PREAMBLE_LEN..PREAMBLE_LEN + header_len(bytes)];
    let decoded = miniz_oxide::inflate::decompress_to_vec(stored).unwrap();
    assert_eq!(decoded.len(), read_u32(bytes, 28) as usize, "decoded length in the preamble");
    Header::decode(decoded.as_slice()).unwrap()
}

fn align(offset: usize) -> usize {
    offset.div_ceil(ALIGN as usize) * ALIGN as usize
}

/// Rewrites the preamble's length and checksum fields for `bytes`.
fn seal_preamble(bytes: &mut [u8], header_len: usize, decoded_len: u32, header_crc: u32) {
    bytes[12..16].copy_from_slice(&(header_len as u32).to_le_bytes());
    bytes[16..20].copy_from_slice(&header_crc.to_le_bytes());
    let file_len = bytes.len() as u64;
    bytes[20..28].copy_from_slice(&file_len.to_le_bytes());
    bytes[28..32].copy_from_slice(&decoded_len.to_le_bytes());
    let crc = crc32fast::hash(&bytes[0..32]);
    bytes[32..36].copy_from_slice(&crc.to_le_bytes());
}

/// Replaces the stored header by `stored` and rebuilds the file with valid
/// checksums, moving the payload region to the new aligned start.
fn with_stored_header(bytes: &[u8], stored: &[u8], decoded_len: u32) -> Vec<u8> {
    let old_start = align(PREAMBLE_LEN + header_len(bytes));
    let mut out = bytes[..PREAMBLE_LEN].to_vec();
    out.extend_from_slice(stored);
    out.resize(align(out.len()), 0);
    out.extend_from_slice(&bytes[old_start..]);
    seal_preamble(&mut out, stored.len(), decoded_len, crc32fast::hash(stored));
    out
}

/// Applies `mutate` to the decoded header, compresses it again and rebuilds
/// the file with valid checksums.
fn with_header(bytes: &[u8], mutate: impl Fn(&mut Header)) -> Vec<u8> {
    let mut header = decode_header(bytes);
    mutate(&mut header);
    let decoded = header.encode_to_vec();
    let stored = miniz_oxide::deflate::compress_to_vec(&decoded, 6);
    with_stored_header(bytes, &stored, decoded.len() as u32)
}

fn error_of(bytes: Vec<u8>) -> String {
    match RprFile::from_bytes(bytes) {
        Ok(_) => panic!("reader accepted an invalid file"),
        Err(error) => error.to_string(),
    }
}

/// Index of node `name` in the header's model description.
fn node_index(header: &Header, name: &str) -> usize {
    header.model.as_ref().unwrap().nodes.iter().position(|node| node.name == name).unwrap()
}

#[test]
fn valid_file_opens() {
    assert!(RprFile::from_bytes(valid_file()).is_ok());
}

#[test]
fn rebuilt_header_opens() {
    // The helpers below must produce a valid file when they change nothing,
    // or the hostile cases would fail for the wrong reason.
    let valid = valid_file();
    assert!(RprFile::from_bytes(with_header(&valid, |_| {})).is_ok());
}

#[test]
fn every_single_bit_flip_is_rejected() {
    let valid = valid_file();
    let mut rng = ChaCha8Rng::seed_from_u64(29);
    // Every preamble and header byte plus 600 random positions over the whole file.
    let header_end = PREAMBLE_LEN + header_len(&valid);
    let positions: Vec<usize> = (0..header_end).chain((0..600).map(|_| rng.gen_range(0..valid.len()))).collect();
    for position in positions {
        let mut bytes = valid.clone();
        bytes[position] ^= 1 << rng.gen_range(0..8);
        assert!(RprFile::from_bytes(bytes).is_err(), "bit flip at offset {position} was accepted");
    }
}

#[test]
fn random_byte_overwrites_are_rejected() {
    let valid = valid_file();
    let mut rng = ChaCha8Rng::seed_from_u64(31);
    for _ in 0..300 {
        let mut bytes = valid.clone();
        let position = rng.gen_range(0..bytes.len());
        let run = rng.gen_range(1..16).min(bytes.len() - position);
        let before = bytes[position..position + run].to_vec();
        rng.fill(&mut bytes[position..position + run]);
        if bytes[position..position + run] == before[..] {
            continue;
        }
        assert!(RprFile::from_bytes(bytes).is_err(), "overwrite at offset {position} was accepted");
    }
}

#[test]
fn decoded_header_mutations_never_panic() {
    // Random bit flips in the decoded header, sealed with valid checksums, so
    // they reach the protobuf decoder and every check after it. Some flips
    // give a file that is still valid (a changed producer string), so the
    // test asserts that none panics and that most are rejected.
    let valid = valid_file();
    let decoded = {
        let header = decode_header(&valid);
        header.encode_to_vec()
    };
    let mut rng = ChaCha8Rng::seed_from_u64(41);
    let mut rejected = 0;
    for _ in 0..400 {
        let mut mutated = decoded.clone();
        for _ in 0..rng.gen_range(1..4) {
            let position = rng.gen_range(0..mutated.len());
            mutated[position] ^= 1 << rng.gen_range(0..8);
        }
        let stored = miniz_oxide::deflate::compress_to_vec(&mutated, 6);
        let bytes = with_stored_header(&valid, &stored, mutated.len() as u32);
        if RprFile::from_bytes(bytes).is_err() {
            rejected += 1;
        }
    }
    assert!(rejected > 300, "only {rejected} of 400 mutated headers were rejected");
}

#[test]
fn truncations_and_trailing_bytes_are_rejected() {
    let valid = valid_file();
    let mut rng = ChaCha8Rng::seed_from_u64(37);
    let lengths: Vec<usize> = (0..64).chain((0..200).map(|_| rng.gen_range(0..valid.len()))).collect();
    for len in lengths {
        assert!(RprFile::from_bytes(valid[..len].to_vec()).is_err(), "truncation to {len} bytes was accepted");
    }
    let mut longer = valid.clone();
    longer.extend_from_slice(&[0; 64]);
    assert!(error_of(longer).contains("truncated or has trailing bytes"));
}

/// The 32-byte preamble of a format 1.0 file: magic, version, header length
/// and CRC, file length, then the CRC-32 of bytes 0..28.
fn format_1_preamble() -> Vec<u8> {
    let mut bytes = b"\x89RPR\r\n\x1a\n".to_vec();
    bytes.extend_from_slice(&1u16.to_le_bytes());
    bytes.extend_from_slice(&0u16.to_le_bytes());
    bytes.extend_from_slice(&0u32.to_le_bytes());
    bytes.extend_from_slice(&crc32fast::hash(&[]).to_le_bytes());
    bytes.extend_from_slice(&32u64.to_le_bytes());
    let crc = crc32fast::hash(&bytes);
    bytes.extend_from_slice(&crc.to_le_bytes());
    bytes
}

#[test]
fn format_1_file_names_both_versions() {
    let error = RprFile::from_bytes(format_1_preamble()).unwrap_err();
    assert!(matches!(error, FormatError::UnsupportedVersion { file_major: 1, file_minor: 0, .. }), "{error}");
    let message = error.to_string();
    assert!(message.contains("1.0"), "{message}");
    assert!(message.contains("2.0"), "{message}");
    assert!(message.contains("re-export the model from its checkpoint"), "{message}");
}

#[test]
fn format_1_file_with_bad_checksum_is_corrupt() {
    let mut bytes = format_1_preamble();
    bytes[20] ^= 0x01;
    let error = RprFile::from_bytes(bytes).unwrap_err();
    assert!(matches!(error, FormatError::Checksum { .. }), "{error}");
}

#[test]
fn newer_major_version_names_both_versions() {
    // A genuine newer file: the preamble checksum covers the new version.
    let mut bytes = valid_file();
    bytes[8..10].copy_from_slice(&3u16.to_le_bytes());
    bytes[10..12].copy_from_slice(&1u16.to_le_bytes());
    let (len, decoded_len, crc) = (header_len(&bytes), read_u32(&bytes, 28), read_u32(&bytes, 16));
    seal_preamble(&mut bytes, len, decoded_len, crc);
    let error = RprFile::from_bytes(bytes).unwrap_err();
    assert!(matches!(error, FormatError::UnsupportedVersion { file_major: 3, file_minor: 1, .. }), "{error}");
    let message = error.to_string();
    assert!(message.contains("3.1"), "{message}");
    assert!(message.contains("2.0"), "{message}");
    assert!(message.contains("upgrade the reader"), "{message}");
}

#[test]
fn version_bit_flip_is_corruption() {
    // Every bit of the major and minor version fields (bytes 8..12). The
    // preamble checksum covers them and is checked first, so no flip may
    // read as a request to upgrade or re-export.
    let valid = valid_file();
    for bit in 0..32 {
        let mut bytes = valid.clone();
        bytes[8 + bit / 8] ^= 1 << (bit % 8);
        let error = RprFile::from_bytes(bytes).unwrap_err();
        match &error {
            FormatError::Checksum { section, offset, .. } => {
                assert_eq!(section, "preamble", "bit {bit}: {error}");
                assert_eq!(*offset, 0, "bit {bit}: {error}");
            }
            other => panic!("bit {bit} of the version gave {other:?}, expected a preamble checksum error"),
        }
        let message = error.to_string();
        assert!(message.contains("preamble at offset 0"), "bit {bit}: {message}");
        assert!(message.contains("corrupt"), "bit {bit}: {message}");
        assert!(!message.contains("upgrade"), "bit {bit}: {message}");
    }
}

#[test]
fn newer_minor_version_opens() {
    let mut bytes = valid_file();
    bytes[10..12].copy_from_slice(&7u16.to_le_bytes());
    let (len, decoded_len, crc) = (header_len(&bytes), read_u32(&bytes, 28), read_u32(&bytes, 16));
    seal_preamble(&mut bytes, len, decoded_len, crc);
    let file = RprFile::from_bytes(bytes).unwrap();
    assert_eq!(file.version(), (2, 7));
}

#[test]
fn unknown_required_section_is_rejected() {
    let section = |required| {
        move |header: &mut Header| {
            let payload = b"future data".to_vec();
            let crc32 = crc32fast::hash(&payload);
            header.sections.push(proto::Section { name: "sparse_weights".into(), required, payload, crc32 });
        }
    };
    let valid = valid_file();
    let error = error_of(with_header(&valid, section(true)));
    assert!(error.contains("sparse_weights"), "{error}");
    assert!(error.contains("2.0"), "{error}");
    // An optional section from a newer writer is skipped.
    assert!(RprFile::from_bytes(with_header(&valid, section(false))).is_ok());
}

#[test]
fn hostile_header_lengths_are_rejected() {
    let valid = valid_file();
    let (len, decoded_len, crc) = (header_len(&valid), read_u32(&valid, 28), read_u32(&valid, 16));
    type Case = (&'static str, usize, u32, &'static str);
    let cases: [Case; 4] = [
        ("stored length past the end", u32::MAX as usize, decoded_len, "runs past the end"),
        ("decoded length over the limit", len, u32::MAX, "exceeds the limit"),
        ("decoded length one more", len, decoded_len + 1, "preamble records"),
        ("decoded length one less", len, decoded_len - 1, "more than the recorded"),
    ];
    for (case, stored_len, decoded, expected) in cases {
        let mut bytes = valid.clone();
        seal_preamble(&mut bytes, stored_len, decoded, crc);
        let error = error_of(bytes);
        assert!(error.contains(expected), "{case}: unexpected message `{error}`");
    }
}

#[test]
fn corrupt_deflate_stream_is_rejected() {
    let valid = valid_file();
    let decoded_len = read_u32(&valid, 28);
    let stored = valid[PREAMBLE_LEN..PREAMBLE_LEN + header_len(&valid)].to_vec();

    let mut trailing = stored.clone();
    trailing.extend_from_slice(&[1, 2, 3]);
    let error = error_of(with_stored_header(&valid, &trailing, decoded_len));
    assert!(error.contains("follow the end of the DEFLATE stream"), "{error}");

    let truncated = &stored[..stored.len() / 2];
    let error = error_of(with_stored_header(&valid, truncated, decoded_len));
    assert!(error.contains("invalid DEFLATE stream"), "{error}");
}

/// Returns the tensor table of a header, which every valid file has.
fn table(header: &mut Header) -> &mut proto::TensorTable {
    header.tensors.as_mut().unwrap()
}

#[test]
fn hostile_tensor_tables_are_rejected() {
    let valid = valid_file();
    let header = decode_header(&valid);
    let conv1 = node_index(&header, "block.conv1") as u32;
    let entries = header.tensors.as_ref().unwrap();
    let bias = (0..entries.nodes.len())
        .find(|&i| entries.nodes[i] == conv1 && entries.roles[i] == proto::TensorRole::Bias as i32)
        .unwrap();
    type Mutation = (&'static str, Box<dyn Fn(&mut Header)>, &'static str);
    let cases: Vec<Mutation> = vec![
        ("node index beyond nodes", Box::new(|h| table(h).nodes[0] = 1000), "node index 1000 is beyond"),
        ("unknown role", Box::new(|h| table(h).roles[0] = 99), "unknown tensor role 99"),
        ("unspecified role", Box::new(|h| table(h).roles[0] = 0), "unknown tensor role 0"),
        (
            "role the op lacks",
            Box::new(|h| table(h).roles[0] = proto::TensorRole::RunningMean as i32),
            "has no running_mean tensor",
        ),
        ("unknown dtype", Box::new(|h| table(h).dtypes[0] = 99), "unknown dtype"),
        (
            "packed bias",
            Box::new(move |h| table(h).dtypes[bias] = proto::DType::PackedTernary2 as i32),
            "no valid size",
        ),
        (
            "duplicate entry",
            Box::new(|h| {
                let table = table(h);
                table.nodes[1] = table.nodes[0];
                table.roles[1] = table.roles[0];
            }),
            "listed twice",
        ),
        ("bad checksum", Box::new(|h| table(h).crc32s[2] ^= 1), "checksum mismatch"),
        ("short column", Box::new(|h| { table(h).dtypes.pop(); }), "columns have different lengths"),
        (
            "last entry dropped",
            Box::new(|h| {
                let table = table(h);
                table.nodes.pop();
                table.roles.pop();
                table.dtypes.pop();
                table.crc32s.pop();
            }),
            "follow the last payload",
        ),
        ("entries swapped", Box::new(|h| table(h).roles.swap(0, 1)), "checksum mismatch"),
        ("no table", Box::new(|h| h.tensors = None), "follow the last payload"),
        ("no model", Box::new(|h| h.model = None), "model description"),
        ("no op", Box::new(|h| h.model.as_mut().unwrap().nodes[1].op = None), "no op is set"),
        ("input id beyond nodes", Box::new(|h| h.model.as_mut().unwrap().nodes[1].inputs[0] = 999), "beyond"),
        ("output beyond nodes", Box::new(|h| h.model.as_mut().unwrap().output = 999), "output node index 999"),
        ("input read before produced", Box::new(|h| h.model.as_mut().unwrap().nodes[1].inputs[0] = 5), "model description"),
        (
            "huge conv channels",
            Box::new(|h| {
                let Some(node::Op::Conv2d(conv)) = &mut h.model.as_mut().unwrap().nodes[0].op else { panic!() };
                conv.out_channels = u32::MAX;
            }),
            "model description",
        ),
        (
            "empty kernel",
            Box::new(|h| {
                let Some(node::Op::Conv2d(conv)) = &mut h.model.as_mut().unwrap().nodes[0].op else { panic!() };
                conv.kernel.clear();
            }),
            "kernel has 0 values",
        ),
        ("no quantization", Box::new(|h| h.quantization = None), "quantization"),
        ("bad bits", Box::new(|h| h.quantization.as_mut().unwrap().bits = 7), "unknown weight bits"),
        ("bad granularity", Box::new(|h| h.quantization.as_mut().unwrap().granularity = 0), "unknown granularity"),
        (
            "binary bits for ternary codes",
            Box::new(|h| h.quantization.as_mut().unwrap().bits = proto::WeightBits::Binary as i32),
            "does not match",
        ),
        ("NaN activation scale", Box::new(|h| h.calibration = Some(calibration(vec![0.1, f32::NAN], 100.0))), "not a positive finite"),
        ("negative activation scale", Box::new(|h| h.calibration = Some(calibration(vec![-0.1], 100.0))), "not a positive finite"),
        ("more scales than tensors", Box::new(|h| h.calibration = Some(calibration(vec![0.1; 99], 100.0))), "99 scales for 14 tensors"),
        (
            "signedness column too short",
            Box::new(|h| {
                let mut calibration = calibration(vec![0.1, 0.2], 100.0);
                calibration.unsigned.pop();
                h.calibration = Some(calibration);
            }),
            "2 scales but 1 signedness flags",
        ),
        ("zero percentile", Box::new(|h| h.calibration = Some(calibration(vec![0.1], 0.0))), "outside (0, 100]"),
    ];
    for (case, mutate, expected) in cases {
        let error = error_of(with_header(&valid, mutate));
        assert!(error.contains(expected), "{case}: unexpected message `{error}`");
    }
}

fn calibration(scales: Vec<f32>, percentile: f32) -> proto::Calibration {
    let unsigned = vec![true; scales.len()];
    proto::Calibration { samples: 1, dataset: "test".into(), percentile, scales, unsigned }
}

#[test]
fn calibration_scale_zero_means_uncalibrated() {
    let valid = valid_file();
    // Tensor ids: 0 is the input, 2 the output of node 1 (`relu1`).
    let bytes = with_header(&valid, |h| h.calibration = Some(calibration(vec![0.5, 0.0, 0.25], 99.5)));
    let file = RprFile::from_bytes(bytes).unwrap();
    assert_eq!(file.model().nodes[1].name, "relu1");
    assert_eq!(file.activations().len(), 2);
    assert_eq!(file.activation_scale("input"), Some(0.5));
    assert_eq!(file.activation_scale("conv1"), None);
    assert_eq!(file.activation_scale("relu1"), Some(0.25));
    assert_eq!(file.calibration().unwrap().percentile, 99.5);
}

#[test]
fn packed_padding_bits_are_rejected() {
    let valid = valid_file();
    let offset = RprFile::from_bytes(valid.clone()).unwrap().tensor_info("block.conv1.weight").unwrap().offset;
    let length = RprFile::from_bytes(valid.clone()).unwrap().tensor_info("block.conv1.weight").unwrap().length;
    // K = 8 * 3 * 3 = 72 pads to 96, so bit 31 of the third nonzero-plane
    // word is padding.
    let mut bytes = valid.clone();
    bytes[offset + 2 * 4 + 3] |= 0x80;
    let crc = crc32fast::hash(&bytes[offset..offset + length]);
    let header = decode_header(&valid);
    let conv = node_index(&header, "block.conv1") as u32;
    let rebuilt = with_header(&bytes, |h| {
        let table = table(h);
        let index = (0..table.nodes.len())
            .find(|&i| table.nodes[i] == conv && table.roles[i] == proto::TensorRole::Weight as i32)
            .unwrap();
        table.crc32s[index] = crc;
    });
    let error = error_of(rebuilt);
    assert!(error.contains("block.conv1.weight"), "{error}");
    assert!(error.contains("invalid packed codes"), "{error}");
}

#[test]
fn nonzero_alignment_padding_is_rejected() {
    let valid = valid_file();
    let header_end = PREAMBLE_LEN + header_len(&valid);
    let data_start = align(header_end);
    // The assert fails if the tiny model's header ever ends on a multiple of
    // 64, because then there is no gap to corrupt.
    assert!(data_start > header_end, "no padding after a {header_end}-byte header");
    let mut bytes = valid.clone();
    bytes[data_start - 1] = 1;
    let error = error_of(bytes);
    assert!(error.contains("padding"), "{error}");
}

#[test]
fn patch_without_change_keeps_bytes() {
    let valid = valid_file();
    let patched = patch_tensor(valid.clone(), "block.conv1.weight", |_| {}).unwrap();
    assert_eq!(patched, valid);
}

#[test]
fn patch_reseals_checksums() {
    let valid = valid_file();
    let file = RprFile::from_bytes(valid.clone()).unwrap();
    let name = file.tensors().find(|info| info.dtype == TensorDType::F32).unwrap().name.clone();
    let patched = patch_tensor(valid, &name, |payload| payload[..4].copy_from_slice(&1.5f32.to_le_bytes())).unwrap();
    let file = RprFile::from_bytes(patched).unwrap();
    assert_eq!(file.tensor_f32(&name).unwrap()[0], 1.5);
}

#[test]
fn patch_of_unknown_tensor_is_rejected() {
    let error = patch_tensor(valid_file(), "nowhere.weight", |_| {}).unwrap_err();
    assert!(matches!(&error, FormatError::TensorNotFound { name } if name == "nowhere.weight"), "{error}");
}

#[test]
fn packed_negative_zero_is_rejected() {
    // Ternary2 rows are a nonzero plane, then a negative plane. Setting the
    // negative bit of a weight whose nonzero bit is clear gives the 2-bit
    // pattern that encodes no code.
    let valid = valid_file();
    let patched = patch_tensor(valid, "block.conv1.weight", |payload| {
        let plane = 12; // K = 72 pads to 96 bits, 3 words
        let column = (0..72).find(|&j| payload[j / 8] & (1 << (j % 8)) == 0).unwrap();
        payload[plane + column / 8] |= 1 << (column % 8);
    })
    .unwrap();
    let error = RprFile::from_bytes(patched).unwrap_err();
    assert!(
        matches!(&error, FormatError::Invalid { section, .. } if section == "tensor `block.conv1.weight`"),
        "{error}"
    );
    let message = error.to_string();
    assert!(message.contains("marked negative but not nonzero"), "{message}");
    assert!(message.contains("re-export the model from its checkpoint"), "{message}");
}
