//! Parsing the attribute's arguments into [`Args`].
//!
//! One parser serves all five attributes: [`RawArg`] reads any `name = value`, `skip(..)`
//! or `key = expr`; [`Args::from_raw`] then checks each against the set the attribute
//! accepts ([`Kind::accepts`]) and converts values with the runtime's own parsers, so
//! `ttl = "soon"` fails at compile time with the same message `CacheConfig` would give.
//! Every problem becomes a `syn::Error` spanned on the offending token, and all of them
//! are reported together.

use proc_macro2::Span;
use syn::ext::IdentExt as _;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned as _;
use syn::{Expr, ExprLit, ExprUnary, Ident, Lit, LitStr, Token, UnOp};
use twat_cache_core::Policy;

/// An engine named by `engine = "…"`. The macro keeps its own enum (rather than core's
/// `EngineKind`, whose `Redis` variant exists only with a feature) so that naming an
/// engine never depends on how this proc-macro crate was compiled; the names themselves
/// come from core's one list, `EngineKind::NAMES`, so the macro and
/// `EngineKind::from_str` accept the same ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Engine {
    Memory,
    Disk,
    File,
    Redis,
}

impl Engine {
    /// The engine `name` stands for: any alias of `EngineKind::NAMES`, by its canonical name.
    fn parse(name: &str) -> Option<Self> {
        match twat_cache_core::EngineKind::canonical_name(name)? {
            "memory" => Some(Self::Memory),
            "disk" => Some(Self::Disk),
            "file" => Some(Self::File),
            "redis" => Some(Self::Redis),
            _ => None,
        }
    }

    pub(crate) const fn is_persistent(self) -> bool {
        !matches!(self, Self::Memory)
    }
}

/// Which attribute is being expanded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `#[mcache]`
    Memory,
    /// `#[bcache]`
    Disk,
    /// `#[fcache]`
    File,
    /// `#[acache]`
    Async,
    /// `#[ucache]`
    Universal,
}

impl Kind {
    pub(crate) const fn attr_name(self) -> &'static str {
        match self {
            Self::Memory => "mcache",
            Self::Disk => "bcache",
            Self::File => "fcache",
            Self::Async => "acache",
            Self::Universal => "ucache",
        }
    }

    /// The arguments this attribute accepts, in the order the error message lists them.
    pub(crate) const fn accepts(self) -> &'static [&'static str] {
        match self {
            Self::Memory => &[
                "name",
                "maxsize",
                "weigher",
                "ttl",
                "stale",
                "stale_if_error",
                "policy",
                "key",
                "skip",
                "cache_errors",
            ],
            Self::Disk => &[
                "name",
                "folder",
                "maxsize",
                "ttl",
                "stale",
                "stale_if_error",
                "secure",
                "durable",
                "version",
                "key",
                "skip",
                "cache_errors",
            ],
            Self::File => &[
                "name",
                "folder",
                "maxsize",
                "ttl",
                "stale",
                "stale_if_error",
                "compress",
                "secure",
                "version",
                "key",
                "skip",
                "cache_errors",
            ],
            Self::Async => &[
                "name",
                "engine",
                "folder",
                "maxsize",
                "weigher",
                "ttl",
                "stale",
                "stale_if_error",
                "policy",
                "compress",
                "secure",
                "durable",
                "version",
                "key",
                "skip",
                "cache_errors",
            ],
            Self::Universal => &[
                "name",
                "engine",
                "folder",
                "maxsize",
                "weigher",
                "ttl",
                "stale",
                "stale_if_error",
                "policy",
                "compress",
                "secure",
                "durable",
                "version",
                "key",
                "skip",
                "cache_errors",
            ],
        }
    }
}

/// One argument as written, before validation.
pub(crate) enum RawArg {
    /// `skip(a, b, self)`
    Skip(Ident, Vec<Ident>),
    /// `name = value` (including `key = expr`)
    Value(Ident, Expr),
    /// A bare flag such as `compress` (refused with a hint to write `compress = true`).
    Flag(Ident),
}

impl Parse for RawArg {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let name = Ident::parse_any(input)?;
        if name == "skip" && input.peek(syn::token::Paren) {
            let content;
            syn::parenthesized!(content in input);
            let names =
                Punctuated::<Ident, Token![,]>::parse_terminated_with(&content, Ident::parse_any)?;
            return Ok(Self::Skip(name, names.into_iter().collect()));
        }
        if input.peek(Token![=]) {
            input.parse::<Token![=]>()?;
            let value: Expr = input.parse()?;
            return Ok(Self::Value(name, value));
        }
        Ok(Self::Flag(name))
    }
}

/// The parsed list `arg, arg, ...`.
pub(crate) struct RawArgs(pub(crate) Vec<RawArg>);

impl Parse for RawArgs {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let args = Punctuated::<RawArg, Token![,]>::parse_terminated(input)?;
        Ok(Self(args.into_iter().collect()))
    }
}

/// A size: entries (memory) or bytes (disk/file), as written.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Size {
    pub(crate) value: u64,
    pub(crate) from_string: bool,
    pub(crate) span: Span,
}

/// Validated arguments.
#[derive(Default)]
pub(crate) struct Args {
    pub(crate) name: Option<LitStr>,
    pub(crate) engine: Option<(Engine, Span)>,
    pub(crate) folder: Option<LitStr>,
    pub(crate) maxsize: Option<Size>,
    /// `weigher = path::to::fn` (an in-memory cache bounded by total weight).
    pub(crate) weigher: Option<syn::ExprPath>,
    /// Time-to-live in nanoseconds.
    pub(crate) ttl_nanos: Option<u128>,
    /// The stale window in nanoseconds, and the span of `stale`.
    pub(crate) stale_nanos: Option<(u128, Span)>,
    /// `stale_if_error = true`, with its span.
    pub(crate) stale_if_error: Option<(bool, Span)>,
    pub(crate) policy: Option<Policy>,
    pub(crate) compress: Option<bool>,
    pub(crate) secure: Option<bool>,
    pub(crate) durable: Option<bool>,
    pub(crate) version: Option<u32>,
    pub(crate) key: Option<Expr>,
    pub(crate) skip: Vec<Ident>,
    pub(crate) skip_span: Option<Span>,
    pub(crate) cache_errors: bool,
}

/// Collects several errors into one.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
    }

    pub(crate) fn add(&mut self, span: Span, message: impl std::fmt::Display) {
        self.push(syn::Error::new(span, message));
    }

    pub(crate) fn finish(self) -> syn::Result<()> {
        self.0.map_or(Ok(()), Err)
    }
}

enum Value {
    Str(LitStr),
    Int(u64, Span),
    Float(f64, Span),
    Bool(bool),
    Negative(Span),
    Other,
}

fn classify(expr: &Expr) -> Value {
    match expr {
        Expr::Lit(ExprLit { lit, .. }) => match lit {
            Lit::Str(text) => Value::Str(text.clone()),
            Lit::Int(int) => int
                .base10_parse::<u64>()
                .map_or_else(|_| Value::Other, |v| Value::Int(v, int.span())),
            Lit::Float(float) => float
                .base10_parse::<f64>()
                .map_or_else(|_| Value::Other, |v| Value::Float(v, float.span())),
            Lit::Bool(flag) => Value::Bool(flag.value),
            _ => Value::Other,
        },
        Expr::Unary(ExprUnary {
            op: UnOp::Neg(_), ..
        }) => Value::Negative(expr.span()),
        Expr::Group(group) => classify(&group.expr),
        _ => Value::Other,
    }
}

/// How one duration argument (`ttl`, `stale`) is read and explained.
struct DurationArg {
    name: &'static str,
    secs: fn(f64) -> Result<std::time::Duration, twat_cache_core::ConfigError>,
    text: fn(&str) -> Result<std::time::Duration, twat_cache_core::ConfigError>,
}

impl DurationArg {
    const TTL: Self = Self {
        name: "ttl",
        secs: twat_cache_core::parse_ttl_secs,
        text: twat_cache_core::parse_ttl_str,
    };
    const STALE: Self = Self {
        name: "stale",
        secs: twat_cache_core::parse_stale_secs,
        text: twat_cache_core::parse_stale_str,
    };
}

/// Reads a duration argument: seconds (`60`, `0.25`) or a string (`"250ms"`, `"1h 30m"`),
/// with the runtime's parsers; problems are added to `errors`, spanned on the value.
fn parse_duration(
    value: &Expr,
    rule: &DurationArg,
    errors: &mut Errors,
) -> Option<std::time::Duration> {
    let name = rule.name;
    let parsed = match classify(value) {
        #[allow(clippy::cast_precision_loss, reason = "seconds, far below 2^53")]
        Value::Int(n, span) => ((rule.secs)(n as f64), span),
        Value::Float(x, span) => ((rule.secs)(x), span),
        Value::Str(text) => ((rule.text)(&text.value()), text.span()),
        Value::Negative(span) => {
            errors.add(
                span,
                format!("`{name}` must be a positive number of seconds"),
            );
            return None;
        }
        _ => {
            errors.add(
                value.span(),
                format!("`{name}` expects seconds (`{name} = 60`, `{name} = 0.25`) or a duration string (`{name} = \"250ms\"`, `{name} = \"1h 30m\"`)"),
            );
            return None;
        }
    };
    match parsed {
        (Ok(duration), _) => Some(duration),
        (Err(err), span) => {
            errors.add(span, err);
            None
        }
    }
}

impl Args {
    /// Validates raw arguments for `kind`, reporting every problem at once.
    #[allow(
        clippy::too_many_lines,
        reason = "one flat match over the argument names reads better split nowhere"
    )]
    pub(crate) fn from_raw(kind: Kind, raw: Vec<RawArg>) -> syn::Result<Self> {
        let mut args = Self::default();
        let mut errors = Errors::default();
        let mut seen: Vec<String> = Vec::new();
        let attr = kind.attr_name();
        let accepted = kind.accepts().join(", ");

        for arg in raw {
            let (name, value) = match arg {
                RawArg::Flag(name) => {
                    let hint = if matches!(
                        name.to_string().as_str(),
                        "compress" | "secure" | "durable" | "cache_errors" | "stale_if_error"
                    ) {
                        format!("write `{name} = true`")
                    } else {
                        format!("write `{name} = <value>`")
                    };
                    errors.add(name.span(), format!("`{name}` needs a value: {hint}"));
                    continue;
                }
                RawArg::Skip(name, names) => {
                    if !kind.accepts().contains(&"skip") {
                        errors.add(name.span(), format!("#[{attr}] does not take `skip`"));
                    } else if args.skip_span.is_some() {
                        errors.add(name.span(), "`skip` is given twice: list every skipped argument in one `skip(a, b)`");
                    } else {
                        args.skip_span = Some(name.span());
                        args.skip = names;
                    }
                    continue;
                }
                RawArg::Value(name, value) => (name, value),
            };
            let key = name.to_string();
            if !kind.accepts().contains(&key.as_str()) {
                let hint = match (kind, key.as_str()) {
                    (Kind::Memory, "folder") => {
                        " (a folder means a persistent cache: use #[bcache] or #[fcache])".to_owned()
                    }
                    (_, "max_size" | "size" | "capacity") => " (write `maxsize`)".to_owned(),
                    (_, "time" | "ttl_secs" | "expire" | "time_to_live") => " (write `ttl`)".to_owned(),
                    (_, "convert") => " (keys need no conversion: every argument that implements `Serialize` is part of the key; use `key = <expr>` to choose it)".to_owned(),
                    _ => String::new(),
                };
                errors.add(
                    name.span(),
                    format!(
                        "unknown argument `{key}` for #[{attr}]{hint}; expected one of: {accepted}"
                    ),
                );
                continue;
            }
            if seen.contains(&key) {
                errors.add(name.span(), format!("`{key}` is given twice"));
                continue;
            }
            seen.push(key.clone());

            match key.as_str() {
                "key" => args.key = Some(value),
                "weigher" => match value {
                    Expr::Path(path) => args.weigher = Some(path),
                    other => errors.add(
                        other.span(),
                        "`weigher` expects the path of a function `fn(&V) -> u32` giving a cached value's weight, e.g. `weigher = page_bytes`",
                    ),
                },
                "name" => match classify(&value) {
                    Value::Str(text) if text.value().trim().is_empty() => {
                        errors.add(text.span(), "`name` must not be empty");
                    }
                    Value::Str(text) => args.name = Some(text),
                    _ => errors.add(value.span(), "`name` expects a string, e.g. `name = \"lookup\"`"),
                },
                "folder" => match classify(&value) {
                    Value::Str(text) => {
                        match twat_cache_core::validate_folder(std::path::Path::new(&text.value())) {
                            Ok(()) => args.folder = Some(text),
                            Err(err) => errors.add(text.span(), err),
                        }
                    }
                    _ => errors.add(
                        value.span(),
                        "`folder` expects a string naming a folder under the cache root, e.g. `folder = \"reports\"`",
                    ),
                },
                "maxsize" => match classify(&value) {
                    Value::Int(0, span) => errors.add(span, twat_cache_core::ConfigError::ZeroMaxsize),
                    Value::Int(n, span) => {
                        args.maxsize = Some(Size { value: n, from_string: false, span });
                    }
                    Value::Str(text) => match twat_cache_core::parse_size_str(&text.value()) {
                        Ok(n) => {
                            args.maxsize = Some(Size { value: n, from_string: true, span: text.span() });
                        }
                        Err(err) => errors.add(text.span(), err),
                    },
                    _ => errors.add(
                        value.span(),
                        "`maxsize` expects a positive integer (`maxsize = 128`) or a size string (`maxsize = \"512 MiB\"`)",
                    ),
                },
                "ttl" => {
                    if let Some(ttl) = parse_duration(&value, &DurationArg::TTL, &mut errors) {
                        args.ttl_nanos = Some(ttl.as_nanos());
                    }
                }
                "stale" => {
                    if let Some(stale) = parse_duration(&value, &DurationArg::STALE, &mut errors) {
                        args.stale_nanos = Some((stale.as_nanos(), name.span()));
                    }
                }
                "policy" => match classify(&value) {
                    Value::Str(text) => match text.value().parse::<Policy>() {
                        Ok(policy) => args.policy = Some(policy),
                        Err(err) => errors.add(text.span(), err),
                    },
                    _ => errors.add(
                        value.span(),
                        "`policy` expects a string: \"lru\", \"lfu\", \"fifo\", \"rr\", \"tinylfu\" or \"unbounded\"",
                    ),
                },
                "engine" => match classify(&value) {
                    Value::Str(text) => match Engine::parse(&text.value()) {
                        Some(engine) => args.engine = Some((engine, text.span())),
                        None => errors.add(
                            text.span(),
                            format!(
                                "`engine`: unknown engine {:?}; write one of \"memory\", \"disk\", \"file\", \"redis\"",
                                text.value()
                            ),
                        ),
                    },
                    _ => errors.add(
                        value.span(),
                        "`engine` expects a string: \"memory\", \"disk\", \"file\" or \"redis\"",
                    ),
                },
                "version" => match classify(&value) {
                    Value::Int(n, span) => match u32::try_from(n) {
                        Ok(v) => args.version = Some(v),
                        Err(_) => errors.add(span, "`version` must fit in a u32"),
                    },
                    _ => errors.add(value.span(), "`version` expects an integer, e.g. `version = 2`"),
                },
                flag @ ("compress" | "secure" | "durable" | "cache_errors" | "stale_if_error") => match classify(&value) {
                    Value::Bool(on) => match flag {
                        "compress" => args.compress = Some(on),
                        "secure" => args.secure = Some(on),
                        "durable" => args.durable = Some(on),
                        "stale_if_error" => args.stale_if_error = Some((on, name.span())),
                        _ => args.cache_errors = on,
                    },
                    _ => errors.add(
                        value.span(),
                        format!("`{flag}` expects `true` or `false`"),
                    ),
                },
                _ => errors.add(name.span(), format!("unknown argument `{key}`; expected one of: {accepted}")),
            }
        }

        if let (Some(key), Some(skip_span)) = (&args.key, args.skip_span) {
            errors.add(
                key.span(),
                "use either `key = <expr>` or `skip(..)`, not both: `key` already chooses exactly what forms the key",
            );
            errors.add(skip_span, "`skip` conflicts with `key`");
        }
        if let Some(weigher) = &args.weigher {
            if args.maxsize.is_none() {
                errors.add(
                    weigher.span(),
                    "`weigher` needs a bound: add `maxsize` (the most the entries may weigh together, e.g. `maxsize = 1000` or `maxsize = \"64 MiB\"`)",
                );
            }
            if args.policy == Some(Policy::Unbounded) {
                errors.add(
                    weigher.span(),
                    "`weigher` bounds the cache: it cannot be `policy = \"unbounded\"`",
                );
            }
        }
        if let Some((_, span)) = args.stale_nanos
            && args.ttl_nanos.is_none()
        {
            errors.add(
                span,
                "`stale` needs a `ttl`: an entry is served stale for `stale` after its `ttl` ends; add a ttl, e.g. `ttl = \"1m\", stale = \"5m\"`",
            );
        }
        if let Some((true, span)) = args.stale_if_error
            && args.stale_nanos.is_none()
        {
            errors.add(
                span,
                "`stale_if_error` needs a `stale` window to serve the old value in: add e.g. `stale = \"5m\"` (and a `ttl`)",
            );
        }
        if matches!(kind, Kind::Universal | Kind::Async) {
            args.check_engine_choice(&mut errors);
        }
        errors.finish()?;
        Ok(args)
    }

    /// For attributes whose engine depends on the arguments: `folder` and byte sizes only
    /// make sense for a persistent engine.
    fn check_engine_choice(&self, errors: &mut Errors) {
        let persistent = self.folder.is_some()
            || self
                .engine
                .is_some_and(|(engine, _)| engine.is_persistent());
        if let Some((Engine::Memory, span)) = self.engine
            && self.folder.is_some()
        {
            errors.add(span, "`engine = \"memory\"` cannot use `folder`: drop `folder`, or choose \"disk\" or \"file\"");
        }
        if persistent && let Some(weigher) = &self.weigher {
            errors.add(
                weigher.span(),
                "`weigher` is for in-memory caches: a persistent cache's `maxsize` already counts the bytes it stores",
            );
        }
    }

    /// Whether an in-memory cache is bounded by weight: a `weigher`, or `maxsize` as a
    /// size string (bytes, each entry weighing what `Weigh` says).
    pub(crate) fn weighted(&self) -> bool {
        self.weigher.is_some() || self.maxsize.is_some_and(|size| size.from_string)
    }
}
