//! Code generation: the wrapper that replaces the user's function.
//!
//! The user's body moves into a closure (or an `async move` block) with the function's
//! return type spelled out, so `return` and `?` keep their meaning. The wrapper encodes
//! the key from borrowed arguments *before* the body takes them by value, then hands key
//! and body to a runtime type from `::twat_cache::__private` held in a function-local
//! `static`. Generated code names nothing but `::twat_cache::__private` paths.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::{ItemFn, LitStr};
use twat_cache_core::Policy;

use crate::attr::{Args, Engine, Kind};
use crate::signature::Signature;

/// Which runtime the wrapper uses.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Runtime {
    Memory,
    Persistent(Engine),
    Async,
    AsyncPersistent(Engine),
}

/// The persistent engine the arguments ask for, if any: `engine = "disk" | "file"`, or a
/// `folder` (files with `compress = true`, disk otherwise).
fn persistent_engine(args: &Args) -> Option<Engine> {
    match args.engine.map(|(engine, _)| engine) {
        Some(Engine::Memory) => None,
        Some(engine) => Some(engine),
        None if args.folder.is_some() && args.compress == Some(true) => Some(Engine::File),
        None if args.folder.is_some() => Some(Engine::Disk),
        None => None,
    }
}

fn runtime_for(kind: Kind, item: &ItemFn, args: &Args) -> Runtime {
    match kind {
        Kind::Memory => Runtime::Memory,
        Kind::Disk => Runtime::Persistent(Engine::Disk),
        Kind::File => Runtime::Persistent(Engine::File),
        Kind::Async | Kind::Universal if item.sig.asyncness.is_some() => {
            persistent_engine(args).map_or(Runtime::Async, Runtime::AsyncPersistent)
        }
        Kind::Async | Kind::Universal => {
            persistent_engine(args).map_or(Runtime::Memory, Runtime::Persistent)
        }
    }
}

fn policy_tokens(policy: Policy) -> TokenStream {
    let variant = format_ident!(
        "{}",
        match policy {
            Policy::Lfu => "Lfu",
            Policy::Fifo => "Fifo",
            Policy::Random => "Random",
            Policy::TinyLfu => "TinyLfu",
            Policy::Unbounded => "Unbounded",
            _ => "Lru",
        }
    );
    quote!(::twat_cache::__private::Policy::#variant)
}

/// The builder with its engine set. Redis goes through `engine_named`, which falls back
/// to memory (with a warning) when the facade's `redis` feature is off.
fn with_engine(builder: &TokenStream, engine: Engine) -> TokenStream {
    let p = quote!(::twat_cache::__private);
    let variant = match engine {
        Engine::Redis => return quote!(#p::engine_named(#builder, "redis")),
        Engine::Disk => format_ident!("Disk"),
        Engine::File => format_ident!("File"),
        Engine::Memory => format_ident!("Memory"),
    };
    quote!(#builder.engine(#p::EngineKind::#variant))
}

/// `|| CacheConfig::builder().name(..)...build()` — every value was validated at
/// expansion time, so `build()` only fails if the runtime's rules ever diverge (the
/// runtime then warns and uses a default configuration rather than panicking).
fn config_closure(kind: Kind, item: &ItemFn, args: &Args, runtime: Runtime) -> TokenStream {
    let p = quote!(::twat_cache::__private);
    let name = args.name.as_ref().map_or_else(
        || {
            let ident = &item.sig.ident;
            quote!(::core::concat!(
                ::core::module_path!(),
                "::",
                ::core::stringify!(#ident)
            ))
        },
        |name: &LitStr| quote!(#name),
    );
    let mut setters = vec![quote!(.name(#name))];
    if let Some(size) = args.maxsize {
        let value = size.value;
        setters.push(quote!(.maxsize(#value)));
    }
    if let Some(nanos) = args.ttl_nanos {
        let nanos = u64::try_from(nanos).unwrap_or(u64::MAX);
        setters.push(quote!(.ttl(#p::Duration::from_nanos(#nanos))));
    }
    if let Some((nanos, _)) = args.stale_nanos {
        let nanos = u64::try_from(nanos).unwrap_or(u64::MAX);
        setters.push(quote!(.stale(#p::Duration::from_nanos(#nanos))));
    }
    if let Some((true, _)) = args.stale_if_error {
        setters.push(quote!(.stale_if_error(true)));
    }
    // `#[ucache]` picks for the user: a bounded cache without a named policy gets
    // W-TinyLFU (the best hit ratio of the measured policies, see the facade's guide);
    // `#[mcache]` keeps cachetools' exact LRU. Engines without eviction policies ignore it.
    let policy = args
        .policy
        .or_else(|| (kind == Kind::Universal && args.maxsize.is_some()).then_some(Policy::TinyLfu));
    if let Some(policy) = policy {
        let policy = policy_tokens(policy);
        setters.push(quote!(.policy(#policy)));
    }
    if let Some(folder) = &args.folder {
        setters.push(quote!(.folder(#folder)));
    }
    for (flag, value) in [
        ("compress", args.compress),
        ("secure", args.secure),
        ("durable", args.durable),
    ] {
        if let Some(value) = value {
            let setter = format_ident!("{flag}");
            setters.push(quote!(.#setter(#value)));
        }
    }
    // Persistent entries outlive the code that wrote them: unless a version is pinned,
    // the function's code fingerprint is the version, so an edited function never reads
    // the old function's results (see `fingerprint`).
    let persistent = matches!(
        runtime,
        Runtime::Persistent(_) | Runtime::AsyncPersistent(_)
    );
    let version = args
        .version
        .or_else(|| persistent.then(|| crate::fingerprint::code_version(item)));
    if let Some(version) = version {
        setters.push(quote!(.version(#version)));
    }
    let engine = match runtime {
        Runtime::Persistent(engine) | Runtime::AsyncPersistent(engine) => Some(engine),
        Runtime::Memory => Some(Engine::Memory),
        Runtime::Async => None,
    };
    let builder = quote!(#p::CacheConfig::builder() #(#setters)*);
    let builder = match engine {
        Some(engine) => with_engine(&builder, engine),
        None => builder,
    };
    quote!(|| #builder.build())
}

/// The memo of an in-memory cache bounded by weight: each entry weighs its key (the
/// typed key's size, or the encoded key's bytes) plus its value — `weigher(&value)`, or
/// what `Weigh` says (an error spanned on the size string when the value type has no
/// `Weigh`, explaining what to write).
fn weighed_memo(
    args: &Args,
    memo: &syn::Ident,
    key_type: &TokenStream,
    stored: &TokenStream,
    typed: bool,
) -> TokenStream {
    let p = quote!(::twat_cache::__private);
    let key_weight = if typed {
        quote!(::core::mem::size_of_val(key))
    } else {
        quote!(#p::Weigh::weigh(key))
    };
    let value_weight = match (&args.weigher, args.maxsize) {
        (Some(weigher), _) => quote!(#p::IntoWeight::into_weight(#weigher(value))),
        (None, Some(size)) => quote_spanned!(size.span=> #p::value_weight(value)),
        (None, None) => quote!(1_u32),
    };
    quote! {
        #p::#memo::weighed(|key: &#key_type, value: &#stored| {
            #p::entry_weight(#key_weight, #value_weight)
        })
    }
}

/// Expands one attribute on one function.
pub(crate) fn expand(kind: Kind, args: &Args, item: &ItemFn) -> syn::Result<TokenStream> {
    let signature = Signature::analyze(kind, item, args)?;
    let runtime = runtime_for(kind, item, args);
    let p = quote!(::twat_cache::__private);
    let ItemFn {
        attrs,
        vis,
        sig,
        block,
    } = item.clone();
    let ret = &signature.ret;
    let key = signature.key_expr(args);
    let config = config_closure(kind, item, args, runtime);
    let fallible = signature.returns_result && !args.cache_errors;
    let stored = if fallible {
        quote!(<#ret as #p::ResultLike>::Ok)
    } else {
        quote!(#ret)
    };
    let call = if fallible {
        quote!(try_call)
    } else {
        quote!(call)
    };

    // A `stale` window changes what is stored (the value and when it stops being
    // fresh), so those caches get memo types of their own and the others keep theirs.
    let stale = args.stale_nanos.is_some();
    let memo = format_ident!(
        "{}{}",
        if stale { "Stale" } else { "" },
        match runtime {
            Runtime::Memory => "MemoryMemo",
            Runtime::Persistent(_) => "PersistentMemo",
            Runtime::Async => "AsyncMemo",
            Runtime::AsyncPersistent(_) => "AsyncPersistentMemo",
        }
    );
    let is_async = matches!(runtime, Runtime::Async | Runtime::AsyncPersistent(_));
    // The body, typed as the function's return type so `return` and `?` keep their
    // meaning: a closure for plain functions, an `async move` block (whose output type is
    // pinned by an unreachable typed `return`, as tracing's #[instrument] does) for async.
    let run = if is_async {
        quote! {
            async move {
                #[allow(unreachable_code, clippy::diverging_sub_expression, clippy::needless_return)]
                if false {
                    let __twat_return_type: #ret = loop {};
                    return __twat_return_type;
                }
                #block
            }
        }
    } else {
        quote!(move || -> #ret #block)
    };
    let invoke = if runtime == Runtime::Async && fallible && !stale {
        // Shares errors across a flight when they are `Clone`, else keeps them with the
        // caller that ran the body (see `TryFlight`).
        quote! {
            #[allow(unused_imports)]
            use #p::{OwnErrors as _, SharedErrors as _};
            (&#p::TryFlight::<_, <#ret as #p::ResultLike>::Err>::new(&__TWAT_CACHE))
                .try_call(#config, __twat_key, __twat_run)
                .await
        }
    } else if is_async {
        quote!(__TWAT_CACHE.#call(#config, __twat_key, __twat_run).await)
    } else {
        quote!(__TWAT_CACHE.#call(#config, __twat_key, __twat_run))
    };
    // In memory, keys of primitive arguments are the values themselves (no encoding);
    // everything else is keyed by its postcard bytes.
    let typed_key = match runtime {
        Runtime::Memory if !stale => signature.typed_key(args),
        _ => None,
    };
    let typed = typed_key.is_some();
    let (memo_type, key, key_type) = match typed_key {
        Some((key_type, key_value)) => (
            quote!(#p::#memo<#key_type, #stored>),
            quote!(#p::typed_key(#key_value)),
            key_type,
        ),
        None if runtime == Runtime::Memory && !stale => (
            quote!(#p::#memo<#p::KeyBuf, #stored>),
            quote!(#p::key(#key)),
            quote!(#p::KeyBuf),
        ),
        None => (
            quote!(#p::#memo<#stored>),
            quote!(#p::key(#key)),
            quote!(#p::KeyBuf),
        ),
    };
    let in_memory = matches!(runtime, Runtime::Memory | Runtime::Async);
    let memo_new = if in_memory && args.weighted() {
        weighed_memo(args, &memo, &key_type, &stored, typed)
    } else {
        quote!(#p::#memo::new())
    };
    let body = quote! {
        static __TWAT_CACHE: #memo_type = #memo_new;
        let __twat_key = #key;
        let __twat_run = #run;
        #invoke
    };
    Ok(quote! {
        #(#attrs)*
        #vis #sig {
            #body
        }
    })
}
