//! What the macros need to know about the function, and the checks that refuse what
//! cannot be cached (with a message saying what to write instead).

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned as _;
use syn::visit::Visit;
use syn::{FnArg, GenericParam, Ident, ItemFn, Pat, ReturnType, Type};

use crate::attr::{Args, Errors, Kind};

/// The function's parameters that form the key, and its return type.
pub(crate) struct Signature {
    /// Whether the function has a `self` receiver, and whether it is a reference.
    pub(crate) receiver: Option<ReceiverKind>,
    /// Every named parameter, in order.
    pub(crate) params: Vec<Ident>,
    /// Their types, in the same order.
    pub(crate) param_types: Vec<Type>,
    /// The return type (`()` when omitted).
    pub(crate) ret: Type,
    /// Whether the return type is spelled `...Result<..>`.
    pub(crate) returns_result: bool,
}

/// How `self` is taken.
#[derive(Clone, Copy)]
pub(crate) enum ReceiverKind {
    /// `&self`, `&mut self`
    Reference,
    /// `self`, `mut self`, `self: Arc<Self>`, …
    Value,
}

/// Finds `impl Trait`, `Self` and borrowed lifetimes inside a type.
#[derive(Default)]
struct TypeScan {
    impl_trait: Option<Span>,
    self_type: Option<Span>,
    borrowed: Option<Span>,
}

impl<'ast> Visit<'ast> for TypeScan {
    fn visit_type_impl_trait(&mut self, node: &'ast syn::TypeImplTrait) {
        self.impl_trait.get_or_insert(node.span());
    }

    fn visit_type_reference(&mut self, node: &'ast syn::TypeReference) {
        if node.lifetime.as_ref().is_none_or(|l| l.ident != "static") {
            self.borrowed.get_or_insert(node.span());
        }
        syn::visit::visit_type_reference(self, node);
    }

    fn visit_lifetime(&mut self, node: &'ast syn::Lifetime) {
        if node.ident != "static" {
            self.borrowed.get_or_insert(node.span());
        }
    }

    fn visit_path(&mut self, node: &'ast syn::Path) {
        if node.segments.first().is_some_and(|s| s.ident == "Self") {
            self.self_type.get_or_insert(node.span());
        }
        syn::visit::visit_path(self, node);
    }
}

fn scan(ty: &Type) -> TypeScan {
    let mut scan = TypeScan::default();
    scan.visit_type(ty);
    scan
}

impl Signature {
    /// Reads and checks `item` for `kind`, reporting every problem at once.
    pub(crate) fn analyze(kind: Kind, item: &ItemFn, args: &Args) -> syn::Result<Self> {
        let attr = kind.attr_name();
        let sig = &item.sig;
        let mut errors = Errors::default();

        match (kind, sig.asyncness) {
            (Kind::Memory | Kind::Disk | Kind::File, Some(token)) => errors.add(
                token.span(),
                format!("#[{attr}] cannot cache an `async fn` (it would cache the future, not its result): use #[acache], or #[ucache] which picks the async engine"),
            ),
            (Kind::Async, None) => errors.add(
                sig.fn_token.span(),
                "#[acache] caches `async fn`s: make this function `async`, or use #[mcache] for a plain function",
            ),
            _ => {}
        }
        if let Some(token) = sig.constness {
            errors.add(
                token.span(),
                format!("#[{attr}] cannot cache a `const fn`: remove `const`"),
            );
        }
        if let Some(variadic) = &sig.variadic {
            errors.add(
                variadic.span(),
                format!("#[{attr}] cannot cache a variadic function"),
            );
        }
        for param in &sig.generics.params {
            match param {
                GenericParam::Type(ty) => errors.add(
                    ty.span(),
                    format!("#[{attr}] cannot cache a generic function: every instantiation would need its own cache; write a non-generic function (e.g. one per concrete type) and cache that"),
                ),
                GenericParam::Const(c) => errors.add(
                    c.span(),
                    format!("#[{attr}] cannot cache a function with const generics: write a non-generic function and cache that"),
                ),
                GenericParam::Lifetime(_) => {}
            }
        }

        let mut receiver = None;
        let mut params = Vec::new();
        let mut param_types = Vec::new();
        for input in &sig.inputs {
            match input {
                FnArg::Receiver(recv) => {
                    receiver = Some(if recv.reference.is_some() {
                        ReceiverKind::Reference
                    } else {
                        ReceiverKind::Value
                    });
                }
                FnArg::Typed(typed) => {
                    if let Some(span) = scan(&typed.ty).impl_trait {
                        errors.add(
                            span,
                            format!("#[{attr}] cannot cache a function with an `impl Trait` argument (it is a hidden generic): take a concrete type, such as `&str` or `&[T]`"),
                        );
                    }
                    match &*typed.pat {
                        Pat::Ident(pat) if pat.subpat.is_none() => {
                            params.push(pat.ident.clone());
                            param_types.push((*typed.ty).clone());
                        }
                        other => errors.add(
                            other.span(),
                            format!("#[{attr}] needs each argument to be a plain name (`point: (i32, i32)`, not a pattern); name it and destructure inside the body"),
                        ),
                    }
                }
            }
        }

        for skipped in &args.skip {
            let found = if skipped == "self" {
                receiver.is_some()
            } else {
                params.iter().any(|p| p == skipped)
            };
            if !found {
                let names: Vec<String> = receiver
                    .map(|_| "self".to_owned())
                    .into_iter()
                    .chain(params.iter().map(ToString::to_string))
                    .collect();
                errors.add(
                    skipped.span(),
                    format!(
                        "`skip({skipped})`: this function has no argument `{skipped}`; its arguments are: {}",
                        if names.is_empty() { "(none)".to_owned() } else { names.join(", ") }
                    ),
                );
            }
        }

        let (ret, returns_result) = match &sig.output {
            ReturnType::Default => (syn::parse_quote!(()), false),
            ReturnType::Type(_, ty) => {
                let found = scan(ty);
                if let Some(span) = found.impl_trait {
                    errors.add(
                        span,
                        format!("#[{attr}] cannot store an `impl Trait` return value: return a concrete type (e.g. `Vec<T>` instead of `impl Iterator`)"),
                    );
                }
                if let Some(span) = found.self_type {
                    errors.add(
                        span,
                        format!("#[{attr}] needs the return type spelled out: write the type's name instead of `Self`"),
                    );
                }
                if let Some(span) = found.borrowed {
                    errors.add(
                        span,
                        format!("#[{attr}] stores the returned value, so it must own its data: return an owned type (`String`, `Vec<T>`, `Arc<T>`) instead of a borrow"),
                    );
                }
                ((**ty).clone(), is_result(ty))
            }
        };
        errors.finish()?;
        Ok(Self {
            receiver,
            params,
            param_types,
            ret,
            returns_result,
        })
    }

    /// The expression whose postcard encoding is the key: `key = expr` as written, else a
    /// tuple of references to every non-skipped argument (and `self`).
    pub(crate) fn key_expr(&self, args: &Args) -> TokenStream {
        if let Some(expr) = &args.key {
            return quote_spanned!(expr.span()=> &(#expr));
        }
        let skipped = |name: &str| args.skip.iter().any(|s| s == name);
        let mut parts = Vec::new();
        if let Some(kind) = self.receiver
            && !skipped("self")
        {
            parts.push(match kind {
                ReceiverKind::Reference => quote!(&*self),
                ReceiverKind::Value => quote!(&self),
            });
        }
        for param in &self.params {
            if !skipped(&param.to_string()) {
                // Borrow, so the body can still take the argument by value.
                parts.push(quote!(&#param));
            }
        }
        quote!(&(#(#parts,)*))
    }
}

impl Signature {
    /// When every argument that forms the key is a primitive `Copy` type (integers,
    /// `bool`, `char`) and there is no `self` or `key = expr` in it, the key can be the
    /// tuple of those values itself — hashed directly, with no encoding step. Returns the
    /// key's type and expression in that case.
    pub(crate) fn typed_key(&self, args: &Args) -> Option<(TokenStream, TokenStream)> {
        if args.key.is_some() {
            return None;
        }
        let skipped = |name: &str| args.skip.iter().any(|s| s == name);
        if self.receiver.is_some() && !skipped("self") {
            return None;
        }
        let mut types = Vec::new();
        let mut values = Vec::new();
        for (param, ty) in self.params.iter().zip(&self.param_types) {
            if skipped(&param.to_string()) {
                continue;
            }
            if !is_primitive(ty) {
                return None;
            }
            types.push(ty);
            values.push(param);
        }
        Some((quote!((#(#types,)*)), quote!((#(#values,)*))))
    }
}

/// Integers, `bool` and `char`, spelled as a bare name.
fn is_primitive(ty: &Type) -> bool {
    const PRIMITIVES: &[&str] = &[
        "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128", "isize",
        "bool", "char",
    ];
    match ty {
        Type::Path(path) if path.qself.is_none() => path
            .path
            .get_ident()
            .is_some_and(|ident| PRIMITIVES.iter().any(|name| ident == name)),
        Type::Group(group) => is_primitive(&group.elem),
        _ => false,
    }
}

/// Whether a type is spelled `Result<..>` or `some::path::Result<..>`.
fn is_result(ty: &Type) -> bool {
    match ty {
        Type::Path(path) => path
            .path
            .segments
            .last()
            .is_some_and(|segment| segment.ident == "Result"),
        Type::Group(group) => is_result(&group.elem),
        Type::Paren(paren) => is_result(&paren.elem),
        _ => false,
    }
}
