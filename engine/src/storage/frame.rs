//! Record framing: `length (u32 LE) | CRC-32 of the payload (u32 LE) | payload`.
//!
//! A zero length never frames data: with the CRC [`END_MARKER`] it marks the end of a
//! snapshot, and any other zero-length header (for example zeros a crash left in a
//! pre-extended file) is invalid.

/// Bytes before a record's payload.
pub const HEADER_LEN: usize = 8;

/// The largest payload accepted when reading, so a corrupt length cannot make the
/// reader allocate gigabytes.
pub const MAX_PAYLOAD: usize = 64 << 20;

/// The CRC field of the end marker (`!END` in ASCII, read as little-endian).
pub const END_MARKER: u32 = u32::from_le_bytes(*b"!END");

/// Appends one framed record.
pub fn encode(payload: &[u8], out: &mut Vec<u8>) {
    // Payloads are bounded by the callers (one silence or one log entry), far below 4 GiB.
    let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    out.extend_from_slice(payload);
}

/// Appends the end marker of a snapshot.
pub fn encode_end(out: &mut Vec<u8>) {
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&END_MARKER.to_le_bytes());
}

/// What one position in a file holds.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    /// A record and the offset just after it.
    Record(&'a [u8], usize),
    /// The end marker and the offset just after it.
    End(usize),
}

/// Why a record cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameError {
    /// What is wrong.
    pub reason: String,
    /// Whether the record runs past the end of the data, or is the last thing in it and
    /// fails its checksum, or is followed only by zeros: what a crash in the middle of
    /// an append leaves.
    pub torn: bool,
}

/// Reads the frame at `offset` of `buf`.
pub fn decode_at(buf: &[u8], offset: usize) -> Result<Frame<'_>, FrameError> {
    let rest = buf.get(offset..).unwrap_or_default();
    if rest.len() < HEADER_LEN {
        return Err(FrameError {
            reason: format!(
                "incomplete record header ({} of {HEADER_LEN} bytes)",
                rest.len()
            ),
            torn: true,
        });
    }
    let len = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
    let crc = u32::from_le_bytes([rest[4], rest[5], rest[6], rest[7]]);
    let only_zeros_follow = rest.iter().all(|b| *b == 0);
    if len == 0 {
        if crc == END_MARKER {
            return Ok(Frame::End(offset + HEADER_LEN));
        }
        return Err(FrameError {
            reason: "record of length zero".to_string(),
            torn: only_zeros_follow,
        });
    }
    if len > MAX_PAYLOAD {
        return Err(FrameError {
            reason: format!("record length {len} exceeds the maximum of {MAX_PAYLOAD} bytes"),
            torn: only_zeros_follow,
        });
    }
    let Some(payload) = rest.get(HEADER_LEN..HEADER_LEN + len) else {
        return Err(FrameError {
            reason: format!(
                "incomplete record: {len} bytes announced, {} present",
                rest.len() - HEADER_LEN
            ),
            torn: true,
        });
    };
    if crc32fast::hash(payload) != crc {
        let end = HEADER_LEN + len;
        let last = rest[end..].iter().all(|b| *b == 0);
        return Err(FrameError {
            reason: "record checksum mismatch".to_string(),
            torn: last,
        });
    }
    Ok(Frame::Record(payload, offset + HEADER_LEN + len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_end_marker_is_recognised() {
        let mut buf = Vec::new();
        encode(b"hello", &mut buf);
        encode(b"world!", &mut buf);
        encode_end(&mut buf);
        let Ok(Frame::Record(a, next)) = decode_at(&buf, 0) else {
            panic!("first record")
        };
        assert_eq!(a, b"hello");
        let Ok(Frame::Record(b, next)) = decode_at(&buf, next) else {
            panic!("second record")
        };
        assert_eq!(b, b"world!");
        assert_eq!(decode_at(&buf, next), Ok(Frame::End(buf.len())));
    }

    #[test]
    fn torn_and_corrupt_records_are_told_apart() {
        let mut buf = Vec::new();
        encode(b"first", &mut buf);
        let second = buf.len();
        encode(b"second", &mut buf);
        // Cut anywhere inside the second record: torn.
        for cut in second + 1..buf.len() {
            let e = decode_at(&buf[..cut], second).unwrap_err();
            assert!(e.torn, "cut at {cut}: {e:?}");
        }
        // Zeros where the second record should be: torn.
        let mut zeros = buf[..second].to_vec();
        zeros.extend_from_slice(&[0; 32]);
        assert!(decode_at(&zeros, second).unwrap_err().torn);
        // A flipped bit in the first record, with a record after it: corrupt.
        let mut flipped = buf.clone();
        flipped[HEADER_LEN + 1] ^= 0x01;
        let e = decode_at(&flipped, 0).unwrap_err();
        assert!(!e.torn);
        assert_eq!(e.reason, "record checksum mismatch");
        // A flipped bit in the last record: torn (the checksum of the tail failed).
        let mut flipped = buf.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 0x01;
        assert!(decode_at(&flipped, second).unwrap_err().torn);
        // An absurd length followed by data: corrupt, and no huge allocation.
        let mut absurd = vec![0xff, 0xff, 0xff, 0x7f, 1, 2, 3, 4];
        absurd.extend_from_slice(b"data");
        assert!(!decode_at(&absurd, 0).unwrap_err().torn);
    }
}
