//! The attribute macros of [twat-cache](https://docs.rs/twat-cache): `#[mcache]`,
//! `#[bcache]`, `#[fcache]`, `#[acache]` and `#[ucache]`.
//!
//! Use them through the `twat-cache` facade (`use twat_cache::mcache;`): the code they
//! generate calls only `::twat_cache::__private`, so this crate alone is not enough.
//! The facade's documentation describes every argument.

mod attr;
mod expand;
mod fingerprint;
mod signature;
mod weigh;

use proc_macro::TokenStream;

use crate::attr::{Args, Kind, RawArgs};

fn run(kind: Kind, attr: TokenStream, item: TokenStream) -> TokenStream {
    let raw = match syn::parse::<RawArgs>(attr) {
        Ok(raw) => raw,
        Err(err) => return err.to_compile_error().into(),
    };
    let Ok(item_fn) = syn::parse::<syn::ItemFn>(item.clone()) else {
        let message = format!(
            "#[{}] goes on a function (`fn` or `async fn`), with a body",
            kind.attr_name()
        );
        let err = syn::Error::new(proc_macro2::Span::call_site(), message).to_compile_error();
        let item = proc_macro2::TokenStream::from(item);
        return quote::quote!(#err #item).into();
    };
    let result = Args::from_raw(kind, raw.0).and_then(|args| expand::expand(kind, &args, &item_fn));
    match result {
        Ok(tokens) => tokens.into(),
        // Keep the original function so one mistake does not cascade into "cannot find
        // function" errors at every call site.
        Err(err) => {
            let err = err.to_compile_error();
            quote::quote!(#err #item_fn).into()
        }
    }
}

/// Memoizes a function in memory. See the `twat-cache` documentation for arguments:
/// `maxsize`, `ttl`, `stale`, `stale_if_error`, `policy`, `name`, `key`, `skip`,
/// `cache_errors`.
#[proc_macro_attribute]
pub fn mcache(attr: TokenStream, item: TokenStream) -> TokenStream {
    run(Kind::Memory, attr, item)
}

/// Memoizes a function on disk (fjall). Arguments: `folder`, `maxsize` (bytes), `ttl`,
/// `stale`, `stale_if_error`, `secure`, `durable`, `version` (default: a fingerprint of
/// the function's code), `name`, `key`, `skip`, `cache_errors`.
#[proc_macro_attribute]
pub fn bcache(attr: TokenStream, item: TokenStream) -> TokenStream {
    run(Kind::Disk, attr, item)
}

/// Memoizes a function in content-addressed files (cacache), for large values.
/// Arguments: `folder`, `maxsize` (bytes), `ttl`, `stale`, `stale_if_error`, `compress`,
/// `secure`, `version`, `name`, `key`, `skip`, `cache_errors`.
#[proc_macro_attribute]
pub fn fcache(attr: TokenStream, item: TokenStream) -> TokenStream {
    run(Kind::File, attr, item)
}

/// Memoizes an `async fn`: one computation per key however many callers await it.
/// Arguments: `maxsize`, `ttl`, `stale`, `stale_if_error`, `policy` (as `#[mcache]`),
/// `name`, `key`, `skip`, `cache_errors`.
#[proc_macro_attribute]
pub fn acache(attr: TokenStream, item: TokenStream) -> TokenStream {
    run(Kind::Async, attr, item)
}

/// Implements `twat_cache::Weigh` (the bytes a value takes, for caches bounded by bytes
/// such as `#[mcache(maxsize = "64 MiB")]`): the value's size plus what each field owns
/// on the heap. For structs and enums whose fields implement `Weigh`; type parameters get
/// a `Weigh` bound.
#[proc_macro_derive(Weigh)]
pub fn derive_weigh(item: TokenStream) -> TokenStream {
    match syn::parse::<syn::DeriveInput>(item).and_then(weigh::derive) {
        Ok(tokens) => tokens.into(),
        Err(err) => err.to_compile_error().into(),
    }
}

/// Memoizes a function with the engine that fits: async engine for an `async fn`, disk
/// (or files with `compress = true` / `engine = "file"`) when a `folder` is given, memory
/// otherwise.
#[proc_macro_attribute]
pub fn ucache(attr: TokenStream, item: TokenStream) -> TokenStream {
    run(Kind::Universal, attr, item)
}
