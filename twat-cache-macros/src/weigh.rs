//! `#[derive(Weigh)]`: a value's weight is its own size plus what each field owns beyond
//! its inline part (`field.weigh() - size_of_val(field)`), for structs and enums (the
//! fields of the variant it holds). Generic parameters get a `Weigh` bound.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::{Data, DeriveInput, Fields, parse_quote};

/// The `Weigh` impl for `input`.
pub(crate) fn derive(mut input: DeriveInput) -> syn::Result<TokenStream> {
    let p = quote!(::twat_cache::__private);
    let name = &input.ident;
    let heap = |binding: &syn::Ident| quote!(#p::Weigh::weigh(#binding).saturating_sub(::core::mem::size_of_val(#binding)));
    let arms = match &input.data {
        Data::Struct(data) => {
            let (pattern, bindings) = destructure(&quote!(Self), &data.fields);
            let parts = bindings.iter().map(heap);
            vec![quote!(#pattern => 0 #(+ #parts)*)]
        }
        Data::Enum(data) => data
            .variants
            .iter()
            .map(|variant| {
                let ident = &variant.ident;
                let (pattern, bindings) = destructure(&quote!(Self::#ident), &variant.fields);
                let parts = bindings.iter().map(heap);
                quote!(#pattern => 0 #(+ #parts)*)
            })
            .collect(),
        Data::Union(_) => {
            return Err(syn::Error::new_spanned(
                &input.ident,
                "#[derive(Weigh)] cannot know which field of a union is set: implement `twat_cache::Weigh` by hand",
            ));
        }
    };
    let params: Vec<_> = input
        .generics
        .type_params()
        .map(|param| param.ident.clone())
        .collect();
    let where_clause = input.generics.make_where_clause();
    for param in params {
        where_clause
            .predicates
            .push(parse_quote!(#param: #p::Weigh));
    }
    let (impl_generics, type_generics, where_clause) = input.generics.split_for_impl();
    Ok(quote! {
        impl #impl_generics #p::Weigh for #name #type_generics #where_clause {
            fn weigh(&self) -> usize {
                ::core::mem::size_of::<Self>()
                    + match self {
                        #(#arms,)*
                    }
            }
        }
    })
}

/// A pattern binding every field of `path` by reference, and the bindings.
fn destructure(path: &TokenStream, fields: &Fields) -> (TokenStream, Vec<syn::Ident>) {
    match fields {
        Fields::Named(named) => {
            let names: Vec<syn::Ident> = named
                .named
                .iter()
                .filter_map(|field| field.ident.clone())
                .collect();
            (quote!(#path { #(#names,)* }), names)
        }
        Fields::Unnamed(unnamed) => {
            let names: Vec<syn::Ident> = (0..unnamed.unnamed.len())
                .map(|index| format_ident!("field_{index}"))
                .collect();
            (quote!(#path( #(#names,)* )), names)
        }
        Fields::Unit => (quote!(#path), Vec::new()),
    }
}
