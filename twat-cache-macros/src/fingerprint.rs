//! The code fingerprint of a persistently cached function: editing the function makes
//! its old entries unreachable, so a result of the old code is never served.
//!
//! # What is detected
//!
//! The function's own tokens: its signature (name, parameters, return type, generics,
//! `async`) and its body, token by token. Whitespace, line breaks and comments are not
//! tokens, trailing commas are skipped (rustfmt adds them when it breaks a list into
//! lines; a one-element tuple's comma is kept), and attributes (doc comments included)
//! and visibility are left out, so reformatting, commenting or documenting the function
//! keeps its entries.
//!
//! # What is not
//!
//! Anything outside the function's tokens: a function it calls, a constant or `static`
//! it reads, a type's `impl`, a dependency's new version, a file it opens. When such a
//! change alters results, bump `version = N` (which replaces the fingerprint: with a
//! pinned version, edits keep the old entries until the number changes).
//!
//! The fingerprint is FNV-1a over a canonical spelling of each token (delimiters, idents,
//! punctuation, literals as written), folded to 32 bits: the same for every compiler
//! version, since it never goes through a pretty-printer. A punctuation mark's spacing
//! (whether it touches the next one: `<<` against `< <`) is part of the token, so
//! spacing *between two punctuation marks* counts; all other whitespace does not.

use proc_macro2::{Delimiter, Spacing, TokenStream, TokenTree};
use quote::ToTokens as _;
use syn::ItemFn;

/// The key-space version of `item` when none is pinned: its code fingerprint.
pub(crate) fn code_version(item: &ItemFn) -> u32 {
    let mut hasher = Fnv::default();
    hash_tokens(&mut hasher, item.sig.to_token_stream());
    hasher.write(b"\0body\0");
    hash_tokens(&mut hasher, item.block.to_token_stream());
    let hash = hasher.0;
    #[allow(clippy::cast_possible_truncation, reason = "folding 64 bits into 32")]
    let folded = (hash ^ (hash >> 32)) as u32;
    folded
}

fn hash_tokens(hasher: &mut Fnv, tokens: TokenStream) {
    hash_group(hasher, tokens, Delimiter::None);
}

/// Hashes the tokens of one group. A trailing comma is skipped (rustfmt adds or removes
/// it when it changes layout) unless it makes a one-element tuple: `(x,)` is not `(x)`.
fn hash_group(hasher: &mut Fnv, tokens: TokenStream, delimiter: Delimiter) {
    let mut tokens: Vec<TokenTree> = tokens.into_iter().collect();
    let is_comma = |token: &TokenTree| matches!(token, TokenTree::Punct(p) if p.as_char() == ',');
    if tokens.last().is_some_and(is_comma) {
        let commas = tokens.iter().filter(|token| is_comma(token)).count();
        if delimiter != Delimiter::Parenthesis || commas > 1 {
            tokens.pop();
        }
    }
    for token in tokens {
        match token {
            TokenTree::Group(group) => {
                let (open, close) = match group.delimiter() {
                    Delimiter::Parenthesis => (b"(", b")"),
                    Delimiter::Brace => (b"{", b"}"),
                    Delimiter::Bracket => (b"[", b"]"),
                    Delimiter::None => (b"<", b">"),
                };
                hasher.write(open);
                hash_group(hasher, group.stream(), group.delimiter());
                hasher.write(close);
            }
            TokenTree::Ident(ident) => {
                hasher.write(b" i");
                hasher.write(ident.to_string().as_bytes());
            }
            TokenTree::Punct(punct) => {
                let joint = if punct.spacing() == Spacing::Joint {
                    "j"
                } else {
                    "a"
                };
                hasher.write(format!(" p{}{joint}", punct.as_char()).as_bytes());
            }
            TokenTree::Literal(literal) => {
                hasher.write(b" l");
                hasher.write(literal.to_string().as_bytes());
            }
        }
    }
}

/// 64-bit FNV-1a: tiny, dependency-free and stable, which is all a fingerprint needs.
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 ^= u64::from(byte);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version_of(source: &str) -> u32 {
        code_version(&syn::parse_str(source).expect("a function"))
    }

    #[test]
    fn formatting_comments_docs_and_attributes_keep_the_fingerprint() {
        let plain = version_of("fn f(x: u64, y: u64) -> u64 { [x * 2, y][0] }");
        let reformatted = version_of(
            "/// Doubles.\n#[inline]\npub fn f(\n    x: u64, // the input\n    y: u64,\n) -> u64 {\n    /* twice */ [x   *   2, y,][0]\n}",
        );
        assert_eq!(plain, reformatted);
    }

    #[test]
    fn body_and_signature_edits_change_it() {
        let plain = version_of("fn f(x: u64) -> u64 { x * 2 }");
        for edited in [
            "fn f(x: u64) -> u64 { x * 3 }",
            "fn f(x: u64) -> u64 { x * 2 + 0 }",
            "fn f(y: u64) -> u64 { y * 2 }",
            "fn f(x: u32) -> u64 { u64::from(x) * 2 }",
            "async fn f(x: u64) -> u64 { x * 2 }",
            "fn g(x: u64) -> u64 { x * 2 }",
            "fn f(x: u64) -> u64 { (x * 2) }",
            "fn f(x: u64) -> u64 { x * 2; x * 2 }",
        ] {
            assert_ne!(plain, version_of(edited), "{edited}");
        }
    }

    #[test]
    fn a_one_element_tuple_keeps_its_comma() {
        assert_ne!(
            version_of("fn f(x: u8) -> (u8,) { (x,) }"),
            version_of("fn f(x: u8) -> (u8,) { (x) }")
        );
    }

    #[test]
    fn literals_count_as_written() {
        assert_ne!(
            version_of(r#"fn f() -> &'static str { "a" }"#),
            version_of(r#"fn f() -> &'static str { "b" }"#)
        );
        assert_ne!(
            version_of("fn f() -> u8 { 1 }"),
            version_of("fn f() -> u8 { 0x1 }")
        );
    }
}
