//! The `.rpr` reader on corrupt, truncated and hostile files: every case must
//! return an error, never panic or succeed.

mod common;

use prost::Message;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rpr_core::quant::{Bits, Granularity};
use rpr_export::packed::proto::{self, Header};
use rpr_export::packed::{encode_rpr, FormatError, PackOptions, RprFile, ALIGN, PREAMBLE_LEN};

use common::{random_checkpoint, tiny_model};

fn valid_file() -> Vec<u8> {
    let checkpoint = random_checkpoint(tiny_model(), Some(Bits::Ternary), Granularity::PerChannel, 23);
    encode_rpr(&checkpoint, &PackOptions::default()).unwrap()
}

fn header_len(bytes: &[u8]) -> usize {
    u32::from_le_bytes(bytes[12..16].try_into().unwrap()) as usize
}

fn decode_header(bytes: &[u8]) -> Header {
    Header::decode(&bytes[PREAMBLE_LEN..PREAMBLE_LEN + header_len(bytes)]).unwrap()
}

fn align(offset: usize) -> usize {
    offset.div_ceil(ALIGN as usize) * ALIGN as usize
}

/// Rewrites the preamble's length and checksum fields for `bytes`.
fn seal_preamble(bytes: &mut [u8], header_len: usize, header_crc: u32) {
    bytes[12..16].copy_from_slice(&(header_len as u32).to_le_bytes());
    bytes[16..20].copy_from_slice(&header_crc.to_le_bytes());
    let file_len = bytes.len() as u64;
    bytes[20..28].copy_from_slice(&file_len.to_le_bytes());
    let crc = crc32fast::hash(&bytes[0..28]);
    bytes[28..32].copy_from_slice(&crc.to_le_bytes());
}

/// Applies `mutate` to the header and rebuilds the file with valid
/// checksums, moving the payloads (and their offsets) if the header grows.
fn with_header(bytes: &[u8], mutate: impl Fn(&mut Header)) -> Vec<u8> {
    let old_start = align(PREAMBLE_LEN + header_len(bytes));
    let original = decode_header(bytes);
    let mut start = old_start;
    let header = loop {
        let mut header = original.clone();
        for entry in &mut header.tensors {
            entry.offset = entry.offset - old_start as u64 + start as u64;
        }
        mutate(&mut header);
        let needed = align(PREAMBLE_LEN + header.encoded_len());
        if needed <= start {
            break header;
        }
        start = needed;
    };
    let encoded = header.encode_to_vec();
    let mut out = bytes[..PREAMBLE_LEN].to_vec();
    out.extend_from_slice(&encoded);
    out.resize(start, 0);
    out.extend_from_slice(&bytes[old_start..]);
    seal_preamble(&mut out, encoded.len(), crc32fast::hash(&encoded));
    out
}

fn error_of(bytes: Vec<u8>) -> String {
    match RprFile::from_bytes(bytes) {
        Ok(_) => panic!("reader accepted an invalid file"),
        Err(error) => error.to_string(),
    }
}

#[test]
fn valid_file_opens() {
    assert!(RprFile::from_bytes(valid_file()).is_ok());
}

#[test]
fn every_single_bit_flip_is_rejected() {
    let valid = valid_file();
    let mut rng = ChaCha8Rng::seed_from_u64(29);
    // Every preamble byte plus 600 random positions over the whole file.
    let positions: Vec<usize> =
        (0..PREAMBLE_LEN).chain((0..600).map(|_| rng.gen_range(0..valid.len()))).collect();
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

#[test]
fn newer_major_version_names_both_versions() {
    let mut bytes = valid_file();
    bytes[8..10].copy_from_slice(&2u16.to_le_bytes());
    bytes[10..12].copy_from_slice(&3u16.to_le_bytes());
    let error = RprFile::from_bytes(bytes).unwrap_err();
    assert!(matches!(error, FormatError::UnsupportedVersion { file_major: 2, file_minor: 3, .. }), "{error}");
    let message = error.to_string();
    assert!(message.contains("2.3"), "{message}");
    assert!(message.contains("1.0"), "{message}");
}

#[test]
fn newer_minor_version_opens() {
    let mut bytes = valid_file();
    bytes[10..12].copy_from_slice(&7u16.to_le_bytes());
    let (len, crc) = (header_len(&bytes), u32::from_le_bytes(bytes[16..20].try_into().unwrap()));
    seal_preamble(&mut bytes, len, crc);
    let file = RprFile::from_bytes(bytes).unwrap();
    assert_eq!(file.version(), (1, 7));
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
    assert!(error.contains("1.0"), "{error}");
    // An optional section from a newer writer is skipped.
    assert!(RprFile::from_bytes(with_header(&valid, section(false))).is_ok());
}

#[test]
fn oversized_header_length_is_rejected() {
    let mut bytes = valid_file();
    let crc = u32::from_le_bytes(bytes[16..20].try_into().unwrap());
    seal_preamble(&mut bytes, u32::MAX as usize, crc);
    let error = error_of(bytes);
    assert!(error.contains("preamble"), "{error}");
    assert!(error.contains("exceeds the limit"), "{error}");
}

#[test]
fn hostile_tensor_tables_are_rejected() {
    let valid = valid_file();
    type Mutation = (&'static str, Box<dyn Fn(&mut Header)>, &'static str);
    let cases: Vec<Mutation> = vec![
        ("huge shape", Box::new(|h| h.tensors[0].shape = vec![u64::MAX, u64::MAX]), "no valid size"),
        ("zero dimension", Box::new(|h| h.tensors[0].shape[0] = 0), "zero or oversized"),
        ("rank 9", Box::new(|h| h.tensors[0].shape = vec![1; 9]), "rank 9"),
        ("offset past end", Box::new(|h| h.tensors[0].offset = 1 << 40), "past the end"),
        ("offset overflow", Box::new(|h| h.tensors[0].offset = u64::MAX - 63), "past the end"),
        ("unaligned offset", Box::new(|h| h.tensors[0].offset += 4), "multiple of 64"),
        ("offset in header", Box::new(|h| h.tensors[0].offset = 0), "overlaps the header"),
        ("length mismatch", Box::new(|h| h.tensors[0].length += 4), "does not match"),
        ("unknown dtype", Box::new(|h| h.tensors[0].dtype = 99), "unknown dtype"),
        ("duplicate name", Box::new(|h| h.tensors[1].name = h.tensors[0].name.clone()), ""),
        ("overlap", Box::new(|h| h.tensors[1].offset = h.tensors[0].offset), ""),
        ("bad checksum", Box::new(|h| h.tensors[2].crc32 ^= 1), "checksum mismatch"),
        ("missing tensor", Box::new(|h| { h.tensors.pop(); }), ""),
        ("unknown op", Box::new(|h| h.model_json = h.model_json.replacen("\"relu\"", "\"gelu\"", 1)), "model description"),
        ("broken json", Box::new(|h| h.model_json.truncate(10)), "model description"),
        ("no quantization", Box::new(|h| h.quantization = None), "quantization"),
        ("bad bits", Box::new(|h| h.quantization.as_mut().unwrap().bits = 7), "unknown weight bits"),
        ("binary bits for ternary codes", Box::new(|h| h.quantization.as_mut().unwrap().bits = proto::WeightBits::Binary as i32), "does not match"),
        ("NaN weight scale", Box::new(|h| h.quantization.as_mut().unwrap().layers[0].weight_scales[0] = f32::NAN), "not a positive finite"),
        (
            "NaN activation scale",
            Box::new(|h| {
                h.calibration = Some(proto::Calibration {
                    samples: 1,
                    dataset: "test".into(),
                    percentile: 100.0,
                    activations: vec![proto::ActivationScale { tensor: "relu1".into(), scale: f32::NAN, unsigned: true }],
                })
            }),
            "not a positive finite",
        ),
        (
            "activation of unknown tensor",
            Box::new(|h| {
                h.calibration = Some(proto::Calibration {
                    samples: 1,
                    dataset: "test".into(),
                    percentile: 100.0,
                    activations: vec![proto::ActivationScale { tensor: "bn1".into(), scale: 0.1, unsigned: true }],
                })
            }),
            "no node produces",
        ),
    ];
    for (case, mutate, expected) in cases {
        let error = error_of(with_header(&valid, mutate));
        assert!(error.contains(expected), "{case}: unexpected message `{error}`");
    }
}

#[test]
fn packed_padding_bits_are_rejected() {
    let valid = valid_file();
    let header = decode_header(&valid);
    let entry = header.tensors.iter().find(|e| e.name == "block.conv1.weight").unwrap();
    // K = 8 * 3 * 3 = 72 pads to 96, so bit 31 of the third nonzero-plane
    // word is padding.
    let mut bytes = valid.clone();
    let word = entry.offset as usize + 2 * 4;
    bytes[word + 3] |= 0x80;
    let crc = crc32fast::hash(&bytes[entry.offset as usize..(entry.offset + entry.length) as usize]);
    let rebuilt = with_header(&bytes, |h| {
        h.tensors.iter_mut().find(|e| e.name == "block.conv1.weight").unwrap().crc32 = crc;
    });
    let error = error_of(rebuilt);
    assert!(error.contains("block.conv1.weight"), "{error}");
    assert!(error.contains("invalid packed codes"), "{error}");
}
