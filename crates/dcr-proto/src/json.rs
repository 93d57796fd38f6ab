//! JSON written member by member, for the two documents the token path writes on every
//! request (the access token's claims and the token response). serde_json escapes a
//! string one byte at a time; these strings (ids, scopes, base64url) almost never need
//! escaping, so a string is checked in one vectorised pass and copied whole, and only a
//! string that needs escaping goes through serde_json. The output is byte for byte what
//! `serde_json::to_vec` writes for the same type (each caller's tests compare them).

use serde::Serialize;

/// Whether JSON would write `s` unchanged between quotes: no control character, quote
/// or backslash (RFC 8259 7). One pass without an early exit, which the compiler turns
/// into vector compares.
fn is_plain(s: &str) -> bool {
    s.bytes().fold(true, |plain, b| {
        plain & (b >= 0x20 && b != b'"' && b != b'\\')
    })
}

/// Appends `s` as a JSON string.
pub fn push_str(out: &mut Vec<u8>, s: &str) -> Result<(), serde_json::Error> {
    if is_plain(s) {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
        Ok(())
    } else {
        serde_json::to_writer(out, s)
    }
}

/// A JSON object being written into a buffer, member by member.
pub struct Object<'a> {
    out: &'a mut Vec<u8>,
    empty: bool,
}

impl<'a> Object<'a> {
    /// Opens the object at the end of `out`.
    pub fn open(out: &'a mut Vec<u8>) -> Self {
        out.push(b'{');
        Self { out, empty: true }
    }

    /// A member whose value is a string.
    pub fn str(&mut self, name: &str, value: &str) -> Result<(), serde_json::Error> {
        self.name(name);
        push_str(self.out, value)
    }

    /// A member whose value is an array of strings.
    pub fn str_array(&mut self, name: &str, items: &[String]) -> Result<(), serde_json::Error> {
        self.name(name);
        self.out.push(b'[');
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.out.push(b',');
            }
            push_str(self.out, item)?;
        }
        self.out.push(b']');
        Ok(())
    }

    /// A member whose value serde_json writes (numbers, and anything uncommon).
    pub fn value(
        &mut self,
        name: &str,
        value: &(impl Serialize + ?Sized),
    ) -> Result<(), serde_json::Error> {
        self.name(name);
        serde_json::to_writer(&mut *self.out, value)
    }

    pub fn close(self) {
        self.out.push(b'}');
    }

    /// `"name":`, after a comma unless it is the first member. Names are ours and
    /// need no escaping.
    fn name(&mut self, name: &str) {
        if !std::mem::take(&mut self.empty) {
            self.out.push(b',');
        }
        self.out.push(b'"');
        self.out.extend_from_slice(name.as_bytes());
        self.out.extend_from_slice(b"\":");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_written_as_serde_json_writes_them() {
        for s in [
            "",
            "plain",
            "é ü 𝄞",
            "q\"uote",
            "back\\slash",
            "tab\there",
            "\u{1}",
            "\u{7f}",
        ] {
            let mut out = Vec::new();
            push_str(&mut out, s).unwrap();
            assert_eq!(out, serde_json::to_vec(s).unwrap(), "{s:?}");
        }
    }
}
