//! PostgreSQL's binary `numeric` format to its decimal text, so that
//! `sum(bigint)` and `avg(…)` results keep every digit.

/// Decodes a binary `numeric`: `ndigits`, `weight`, `sign`, `dscale` (each
/// two bytes, big-endian) and `ndigits` base-10000 digits. `None` if the
/// bytes are not a numeric.
pub fn numeric_to_string(raw: &[u8]) -> Option<String> {
    let word = |i: usize| -> Option<u16> {
        let bytes = raw.get(i * 2..i * 2 + 2)?;
        Some(u16::from_be_bytes([*bytes.first()?, *bytes.get(1)?]))
    };
    let ndigits = usize::from(word(0)?);
    let weight = i64::from(i16::from_be_bytes(word(1)?.to_be_bytes()));
    let sign = word(2)?;
    let dscale = usize::from(word(3)?);
    match sign {
        0xC000 => return Some("NaN".into()),
        0xD000 => return Some("Infinity".into()),
        0xF000 => return Some("-Infinity".into()),
        0x0000 | 0x4000 => {}
        _ => return None,
    }
    let mut digits = Vec::with_capacity(ndigits);
    for i in 0..ndigits {
        let d = word(4 + i)?;
        if d > 9999 {
            return None;
        }
        digits.push(d);
    }
    let digit = |position: i64| -> u16 {
        usize::try_from(position)
            .ok()
            .and_then(|p| digits.get(p).copied())
            .unwrap_or(0)
    };
    let mut out = String::new();
    if sign == 0x4000 {
        out.push('-');
    }
    if weight < 0 {
        out.push('0');
    } else {
        out.push_str(&digit(0).to_string());
        for position in 1..=weight {
            out.push_str(&format!("{:04}", digit(position)));
        }
    }
    if dscale > 0 {
        out.push('.');
        let mut fraction = String::with_capacity(dscale + 4);
        let mut position = weight + 1;
        while fraction.len() < dscale {
            fraction.push_str(&format!("{:04}", digit(position)));
            position += 1;
        }
        fraction.truncate(dscale);
        out.push_str(&fraction);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::numeric_to_string;

    fn encode(weight: i16, sign: u16, dscale: u16, digits: &[u16]) -> Vec<u8> {
        let mut out = Vec::new();
        let ndigits = u16::try_from(digits.len()).unwrap();
        for w in [ndigits, weight.cast_unsigned(), sign, dscale] {
            out.extend_from_slice(&w.to_be_bytes());
        }
        for d in digits {
            out.extend_from_slice(&d.to_be_bytes());
        }
        out
    }

    #[test]
    fn decodes_integers_fractions_and_signs() {
        assert_eq!(numeric_to_string(&encode(0, 0, 0, &[])).unwrap(), "0");
        assert_eq!(numeric_to_string(&encode(0, 0, 0, &[42])).unwrap(), "42");
        assert_eq!(
            numeric_to_string(&encode(1, 0, 0, &[12, 3456])).unwrap(),
            "123456"
        );
        assert_eq!(
            numeric_to_string(&encode(2, 0, 0, &[1])).unwrap(),
            "100000000"
        );
        assert_eq!(
            numeric_to_string(&encode(0, 0x4000, 2, &[3, 1400])).unwrap(),
            "-3.14"
        );
        assert_eq!(
            numeric_to_string(&encode(-1, 0, 5, &[50])).unwrap(),
            "0.00500"
        );
        assert_eq!(
            numeric_to_string(&encode(0, 0, 20, &[1])).unwrap(),
            "1.00000000000000000000"
        );
        assert_eq!(
            numeric_to_string(&encode(0, 0xC000, 0, &[])).unwrap(),
            "NaN"
        );
        assert!(numeric_to_string(&[0, 1]).is_none());
        assert!(numeric_to_string(&encode(0, 0, 0, &[10000])).is_none());
    }
}
