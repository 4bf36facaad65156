//! The `Range` header of a request for a file (RFC 9110 §14): one byte range is answered `206`, none
//! that fits is `416`, and anything else — several ranges, other units, a malformed header — is
//! answered with the whole file, as the RFC allows a server to do.

/// What a `Range` header asks of a file of a known length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RangeRequest {
    /// The whole file: no range, a malformed one, another unit, or several ranges (not served as
    /// `multipart/byteranges`).
    Whole,
    /// The bytes `start..=end`, both inside the file.
    Part { start: u64, end: u64 },
    /// One range, of which no byte is in the file: `416` with `Content-Range: bytes */length`.
    Unsatisfiable,
}

/// Reads a `Range` header value against a file of `length` bytes. Never panics, whatever the input.
pub(crate) fn parse_range(value: &str, length: u64) -> RangeRequest {
    // The unit is case-insensitive (RFC 9110 §14.1).
    let value = value.trim();
    let Some(spec) = value.get(..6).filter(|unit| unit.eq_ignore_ascii_case("bytes=")).map(|_| &value[6..]) else {
        return RangeRequest::Whole;
    };
    if spec.contains(',') {
        return RangeRequest::Whole;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return RangeRequest::Whole;
    };
    let number = |text: &str| -> Option<u64> {
        (!text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())).then(|| text.parse().ok()).flatten()
    };
    match (first.trim(), last.trim()) {
        ("", suffix) => match number(suffix) {
            None => RangeRequest::Whole,
            Some(0) => RangeRequest::Unsatisfiable,
            Some(_) if length == 0 => RangeRequest::Unsatisfiable,
            Some(suffix) => RangeRequest::Part { start: length.saturating_sub(suffix), end: length - 1 },
        },
        (first, last) => {
            let Some(start) = number(first) else {
                return RangeRequest::Whole;
            };
            let end = match last {
                "" => u64::MAX,
                last => match number(last) {
                    Some(end) if end >= start => end,
                    _ => return RangeRequest::Whole,
                },
            };
            if start >= length {
                RangeRequest::Unsatisfiable
            } else {
                RangeRequest::Part { start, end: end.min(length - 1) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::RangeRequest::{Part, Unsatisfiable, Whole};
    use super::*;

    #[test]
    fn ranges_against_a_file_of_ten_bytes() {
        let table = [
            ("bytes=0-4", Part { start: 0, end: 4 }),
            ("bytes=5-", Part { start: 5, end: 9 }),
            ("bytes=-3", Part { start: 7, end: 9 }),
            ("bytes=-30", Part { start: 0, end: 9 }),
            ("bytes=8-100", Part { start: 8, end: 9 }),
            ("bytes= 2-3 ", Part { start: 2, end: 3 }),
            ("Bytes=1-1", Part { start: 1, end: 1 }),
            ("bytes=10-", Unsatisfiable),
            ("bytes=10-20", Unsatisfiable),
            ("bytes=-0", Unsatisfiable),
            ("bytes=0-1,3-4", Whole),
            ("bytes=4-2", Whole),
            ("bytes=a-b", Whole),
            ("bytes=-", Whole),
            ("bytes=+1-2", Whole),
            ("bytes=99999999999999999999999-", Whole),
            ("items=0-4", Whole),
            ("", Whole),
        ];
        for (value, expected) in table {
            assert_eq!(parse_range(value, 10), expected, "{value:?}");
        }
        assert_eq!(parse_range("bytes=-5", 0), Unsatisfiable);
        assert_eq!(parse_range("bytes=0-", 0), Unsatisfiable);
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        proptest! {
            #[test]
            fn any_header_is_read_and_a_part_is_inside_the_file(value in ".{0,40}", length in 0u64..1000) {
                if let Part { start, end } = parse_range(&value, length) {
                    prop_assert!(start <= end && end < length);
                }
            }

            #[test]
            fn well_formed_ranges_are_served(start in 0u64..2000, span in 0u64..2000, length in 1u64..1000) {
                let value = format!("bytes={start}-{}", start + span);
                let expected = if start >= length {
                    Unsatisfiable
                } else {
                    Part { start, end: (start + span).min(length - 1) }
                };
                prop_assert_eq!(parse_range(&value, length), expected);
            }
        }
    }
}
