//! Reading the DER structures attestations carry (Android's KeyDescription, App
//! Attest's nonce) with `asn1-rs`: this module only walks elements the crate has
//! already decoded, by tag.

use x509_parser::asn1_rs::{Any, Class, FromDer};

use crate::{AttestError, malformed};

/// More elements than this in one SEQUENCE or SET is not a real attestation.
const MAX_ELEMENTS: usize = 128;

/// The elements of a constructed value's content, in order.
pub(crate) fn elements<'a>(content: &'a [u8], what: &str) -> Result<Vec<Any<'a>>, AttestError> {
    let mut rest = content;
    let mut out = Vec::new();
    while !rest.is_empty() {
        if out.len() == MAX_ELEMENTS {
            return Err(malformed(format!("{what}: too many elements")));
        }
        let (tail, any) = Any::from_der(rest).map_err(|e| malformed(format!("{what}: {e}")))?;
        out.push(any);
        rest = tail;
    }
    Ok(out)
}

/// One whole DER value, nothing after it.
pub(crate) fn single<'a>(bytes: &'a [u8], what: &str) -> Result<Any<'a>, AttestError> {
    let (rest, any) = Any::from_der(bytes).map_err(|e| malformed(format!("{what}: {e}")))?;
    if !rest.is_empty() {
        return Err(malformed(format!("{what}: bytes after the value")));
    }
    Ok(any)
}

/// The content of the context-specific `[tag]` element among `items`, if present
/// exactly once (EXPLICIT tagging: the content is itself one DER value).
pub(crate) fn explicit<'a>(
    items: &[Any<'a>],
    tag: u32,
    what: &str,
) -> Result<Option<Any<'a>>, AttestError> {
    let mut found = items
        .iter()
        .filter(|a| a.class() == Class::ContextSpecific && a.tag().0 == tag);
    let Some(first) = found.next() else {
        return Ok(None);
    };
    if found.next().is_some() {
        return Err(malformed(format!("{what}: [{tag}] appears twice")));
    }
    single(first.data, what).map(Some)
}

/// An element that must be an OCTET STRING (DER: primitive, so its content is the
/// string itself).
pub(crate) fn octets<'a>(any: &Any<'a>, what: &str) -> Result<&'a [u8], AttestError> {
    if any.class() != Class::Universal || any.tag().0 != 4 || any.header.is_constructed() {
        return Err(malformed(format!("{what}: not an OCTET STRING")));
    }
    Ok(any.data)
}

/// An element that must be a SEQUENCE (or SET, with `set`): its elements.
pub(crate) fn constructed<'a>(
    any: &Any<'a>,
    set: bool,
    what: &str,
) -> Result<Vec<Any<'a>>, AttestError> {
    let tag = if set { 17 } else { 16 };
    if any.class() != Class::Universal || any.tag().0 != tag {
        let kind = if set { "SET" } else { "SEQUENCE" };
        return Err(malformed(format!("{what}: not a {kind}")));
    }
    elements(any.data, what)
}

/// An INTEGER or ENUMERATED that fits in a `u64`.
pub(crate) fn unsigned(any: &Any<'_>, what: &str) -> Result<u64, AttestError> {
    if any.class() == Class::Universal && any.tag().0 == 10 {
        return any
            .as_enumerated()
            .map(|e| u64::from(e.0))
            .map_err(|_| malformed(format!("{what}: not an ENUMERATED")));
    }
    any.as_u64()
        .map_err(|_| malformed(format!("{what}: not a small non-negative INTEGER")))
}
