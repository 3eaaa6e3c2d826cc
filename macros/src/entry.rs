//! Parsing and expansion shared by `#[runtime::main]` and `#[runtime::test]`.
//!
//! The two macros differ only in their default flavor, in the name they use in
//! error messages and in whether the generated function gets `#[test]`; see
//! [`Kind`].
//!
//! The function body is never parsed: it is carried over as raw tokens, so a body
//! that is half-typed in an editor does not make the macro fail, and every error
//! inside it is reported by rustc at the user's own tokens.

use proc_macro2::{Delimiter, Group, Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::parse::{Parse, ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{AttrStyle, Attribute, Expr, Lit, Meta, MetaNameValue, Signature, Token, Visibility};

/// Which macro is being expanded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `#[runtime::main]`: multi-thread by default.
    Main,
    /// `#[runtime::test]`: current-thread by default, adds `#[test]`.
    Test,
}

impl Kind {
    /// The attribute as the user writes it, for error messages.
    fn attr(self) -> &'static str {
        match self {
            Kind::Main => "#[runtime::main]",
            Kind::Test => "#[runtime::test]",
        }
    }

    /// The flavor used when the user names none, as in tokio.
    fn default_flavor(self) -> Flavor {
        match self {
            Kind::Main => Flavor::MultiThread,
            Kind::Test => Flavor::CurrentThread,
        }
    }
}

/// Which scheduler the generated `Builder` call asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flavor {
    /// `Builder::new_current_thread()`.
    CurrentThread,
    /// `Builder::new_multi_thread()`.
    MultiThread,
}

/// The argument names the attribute accepts, in the order error messages list them.
const KEYS: &[&str] = &["flavor", "worker_threads", "start_paused", "crate"];

/// The attribute's arguments, validated.
pub(crate) struct Config {
    /// The scheduler to build.
    pub(crate) flavor: Flavor,
    /// `worker_threads = N`, if given; only ever set with [`Flavor::MultiThread`].
    pub(crate) worker_threads: Option<usize>,
    /// `start_paused = true|false`, if given; only ever set with
    /// [`Flavor::CurrentThread`].
    pub(crate) start_paused: Option<bool>,
    /// Path of the runtime crate, `::runtime` unless `crate = "..."` renames it.
    pub(crate) crate_path: syn::Path,
}

/// Parses and validates the attribute's arguments.
///
/// Every problem found is reported, not just the first, each spanned at the
/// offending tokens.
pub(crate) fn parse_config(args: TokenStream, kind: Kind) -> syn::Result<Config> {
    let metas = Punctuated::<Meta, Token![,]>::parse_terminated.parse2(args)?;

    let mut errors: Option<syn::Error> = None;
    let mut push = |e: syn::Error| match &mut errors {
        Some(all) => all.combine(e),
        None => errors = Some(e),
    };

    // Each accepted argument, with the span of its key (for duplicates and for the
    // flavor/worker_threads conflict).
    let mut flavor: Option<(Flavor, Span)> = None;
    let mut worker_threads: Option<(usize, Span)> = None;
    let mut start_paused: Option<(bool, Span)> = None;
    let mut crate_path: Option<(syn::Path, Span)> = None;

    for meta in metas {
        let nv = match meta {
            Meta::NameValue(nv) => nv,
            other => {
                push(not_name_value(&other));
                continue;
            }
        };
        let Some(key) = nv.path.get_ident().map(ToString::to_string) else {
            push(unknown_key(&nv.path));
            continue;
        };
        let key_span = nv.path.span();
        let seen = match key.as_str() {
            "flavor" => flavor.is_some(),
            "worker_threads" => worker_threads.is_some(),
            "start_paused" => start_paused.is_some(),
            "crate" => crate_path.is_some(),
            _ => {
                push(unknown_key(&nv.path));
                continue;
            }
        };
        if seen {
            push(syn::Error::new(
                key_span,
                format!("duplicate `{key}` argument"),
            ));
            continue;
        }
        match key.as_str() {
            "flavor" => match parse_flavor(&nv) {
                Ok(f) => flavor = Some((f, key_span)),
                Err(e) => push(e),
            },
            "worker_threads" => match parse_worker_threads(&nv) {
                Ok(n) => worker_threads = Some((n, key_span)),
                Err(e) => push(e),
            },
            "start_paused" => match parse_bool(&nv) {
                Ok(b) => start_paused = Some((b, key_span)),
                Err(e) => push(e),
            },
            _ => match parse_crate_path(&nv) {
                Ok(p) => crate_path = Some((p, key_span)),
                Err(e) => push(e),
            },
        }
    }

    let flavor_value = flavor.map_or(kind.default_flavor(), |(f, _)| f);
    if let (Some((_, span)), Flavor::CurrentThread) = (worker_threads, flavor_value) {
        let msg = if flavor.is_some() {
            "`worker_threads` can't be used with `flavor = \"current_thread\"`, which runs \
             every task on the calling thread; remove it, or use `flavor = \"multi_thread\"`"
                .to_owned()
        } else {
            format!(
                "`worker_threads` needs the multi-thread runtime, but `{}` defaults to \
                 `current_thread`; add `flavor = \"multi_thread\"`",
                kind.attr()
            )
        };
        push(syn::Error::new(span, msg));
    }

    if let (Some((_, span)), Flavor::MultiThread) = (start_paused, flavor_value) {
        let msg = if flavor.is_some() {
            "`start_paused` can't be used with `flavor = \"multi_thread\"`: only the \
             current-thread runtime has a paused clock; remove it, or use \
             `flavor = \"current_thread\"`"
                .to_owned()
        } else {
            format!(
                "`start_paused` needs the current-thread runtime, but `{}` defaults to \
                 `multi_thread`; add `flavor = \"current_thread\"`",
                kind.attr()
            )
        };
        push(syn::Error::new(span, msg));
    }

    if let Some(e) = errors {
        return Err(e);
    }
    Ok(Config {
        flavor: flavor_value,
        worker_threads: worker_threads.map(|(n, _)| n),
        start_paused: start_paused.map(|(b, _)| b),
        crate_path: crate_path.map_or_else(|| syn::parse_quote!(::runtime), |(p, _)| p),
    })
}

fn keys_list() -> String {
    let quoted: Vec<String> = KEYS.iter().map(|k| format!("`{k}`")).collect();
    quoted.join(", ")
}

fn unknown_key(path: &syn::Path) -> syn::Error {
    let name = path.to_token_stream().to_string().replace(' ', "");
    syn::Error::new_spanned(
        path,
        format!("unknown argument `{name}`; expected one of {}", keys_list()),
    )
}

fn not_name_value(meta: &Meta) -> syn::Error {
    let path = meta.path();
    match path.get_ident().map(ToString::to_string) {
        Some(key) if KEYS.contains(&key.as_str()) => {
            syn::Error::new_spanned(meta, format!("`{key}` needs a value, like `{key} = ...`"))
        }
        _ => unknown_key(path),
    }
}

/// The value of `key = value` if it is a literal, else `None`.
fn lit_value(nv: &MetaNameValue) -> Option<&Lit> {
    match &nv.value {
        Expr::Lit(expr) if expr.attrs.is_empty() => Some(&expr.lit),
        _ => None,
    }
}

fn parse_flavor(nv: &MetaNameValue) -> syn::Result<Flavor> {
    match lit_value(nv) {
        Some(Lit::Str(s)) => match s.value().as_str() {
            "current_thread" => Ok(Flavor::CurrentThread),
            "multi_thread" => Ok(Flavor::MultiThread),
            other => Err(syn::Error::new_spanned(
                s,
                format!(
                    "unknown runtime flavor `{other}`; expected `\"current_thread\"` or \
                     `\"multi_thread\"`"
                ),
            )),
        },
        _ => Err(syn::Error::new_spanned(
            &nv.value,
            "`flavor` must be a string: `\"current_thread\"` or `\"multi_thread\"`",
        )),
    }
}

fn parse_worker_threads(nv: &MetaNameValue) -> syn::Result<usize> {
    let not_positive = || {
        syn::Error::new_spanned(
            &nv.value,
            "`worker_threads` must be a positive integer literal, like `worker_threads = 4`",
        )
    };
    match lit_value(nv) {
        Some(Lit::Int(int)) => match int.base10_parse::<usize>() {
            Ok(0) => Err(syn::Error::new_spanned(
                int,
                "`worker_threads` must be at least 1",
            )),
            Ok(n) => Ok(n),
            Err(_) => Err(not_positive()),
        },
        _ => Err(not_positive()),
    }
}

fn parse_bool(nv: &MetaNameValue) -> syn::Result<bool> {
    match lit_value(nv) {
        Some(Lit::Bool(b)) => Ok(b.value),
        _ => Err(syn::Error::new_spanned(
            &nv.value,
            "`start_paused` must be `true` or `false`",
        )),
    }
}

fn parse_crate_path(nv: &MetaNameValue) -> syn::Result<syn::Path> {
    match lit_value(nv) {
        Some(Lit::Str(s)) => s
            .parse::<syn::Path>()
            .map_err(|_| syn::Error::new_spanned(s, format!("`{}` is not a path", s.value()))),
        _ => Err(syn::Error::new_spanned(
            &nv.value,
            "`crate` must be a string holding a path, like `crate = \"my_runtime\"`",
        )),
    }
}

/// An `fn` item whose body is kept as raw tokens.
///
/// Parsing the body would make the macro fail on every incomplete line while the
/// user types, and rustc reports errors in it better than we could.
pub(crate) struct ItemFn {
    attrs: Vec<Attribute>,
    vis: Visibility,
    sig: Signature,
    /// `#![...]` attributes at the top of the body. An async block can't carry
    /// them, so they move onto the generated function.
    inner_attrs: Vec<Attribute>,
    /// The body's statements, without the braces.
    body: TokenStream,
    /// The span of the body's braces.
    brace_span: Span,
}

impl Parse for ItemFn {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis = input.parse()?;
        let sig = input.parse()?;
        let content;
        let brace = syn::braced!(content in input);
        let inner_attrs = content.call(Attribute::parse_inner)?;
        let body = content.parse()?;
        Ok(ItemFn {
            attrs,
            vis,
            sig,
            inner_attrs,
            body,
            brace_span: brace.span.join(),
        })
    }
}

impl ItemFn {
    /// The body, braces included, with the user's spans.
    fn block(&self) -> Group {
        let mut group = Group::new(Delimiter::Brace, self.body.clone());
        group.set_span(self.brace_span);
        group
    }

    /// All attributes for the generated function: the outer ones, then the body's
    /// inner ones turned outer.
    fn all_attrs(&self) -> impl Iterator<Item = Attribute> + '_ {
        self.attrs
            .iter()
            .cloned()
            .chain(self.inner_attrs.iter().map(|a| Attribute {
                style: AttrStyle::Outer,
                ..a.clone()
            }))
    }
}

/// Checks that the function can be turned into a synchronous entry point.
fn check_signature(item: &ItemFn, kind: Kind) -> syn::Result<()> {
    let mut errors: Vec<syn::Error> = Vec::new();
    let sig = &item.sig;
    if sig.asyncness.is_none() {
        errors.push(syn::Error::new_spanned(
            sig.fn_token,
            "the `async` keyword is missing from the function declaration",
        ));
    }
    if !sig.inputs.is_empty() {
        errors.push(syn::Error::new_spanned(
            &sig.inputs,
            format!("functions marked `{}` can't take arguments", kind.attr()),
        ));
    }
    let generic_msg = format!("functions marked `{}` can't be generic", kind.attr());
    if !sig.generics.params.is_empty() {
        errors.push(syn::Error::new_spanned(&sig.generics, generic_msg));
    } else if let Some(where_clause) = &sig.generics.where_clause {
        errors.push(syn::Error::new_spanned(where_clause, generic_msg));
    }
    if kind == Kind::Test {
        if let Some(attr) = item.attrs.iter().find(|a| a.path().is_ident("test")) {
            errors.push(syn::Error::new_spanned(
                attr,
                "remove this `#[test]`: `#[runtime::test]` already adds one",
            ));
        }
    }
    let mut errors = errors.into_iter();
    match errors.next() {
        None => Ok(()),
        Some(mut first) => {
            errors.for_each(|e| first.combine(e));
            Err(first)
        }
    }
}

/// Expands `#[runtime::main]` (`kind == Main`) or `#[runtime::test]`.
///
/// On any error the output is the `compile_error!`s plus a stand-in for the item
/// (see [`fallback`]), never a half-expanded function.
pub(crate) fn expand(args: TokenStream, item: TokenStream, kind: Kind) -> TokenStream {
    let parsed: ItemFn = match syn::parse2(item.clone()) {
        Ok(parsed) => parsed,
        Err(e) => {
            // Not a function at all: say so and give rustc the item unchanged.
            let error = e.to_compile_error();
            return quote! { #error #item };
        }
    };
    let config = parse_config(args, kind);
    let signature = check_signature(&parsed, kind);
    match (config, signature) {
        (Ok(config), Ok(())) => generate(&parsed, &config, kind),
        (Err(mut e), Err(e2)) => {
            e.combine(e2);
            with_error(&parsed, &e)
        }
        (Err(e), Ok(())) | (Ok(_), Err(e)) => with_error(&parsed, &e),
    }
}

/// The generated synchronous function.
fn generate(item: &ItemFn, config: &Config, kind: Kind) -> TokenStream {
    let attrs = item.all_attrs();
    let vis = &item.vis;
    let mut sig = item.sig.clone();
    sig.asyncness = None;
    let block = item.block();

    // Glue code carries the call site's span, so that errors in it point at the
    // attribute and lints see it as macro output.
    let krate = &config.crate_path;
    let builder = match config.flavor {
        Flavor::CurrentThread => quote! { #krate::Builder::new_current_thread() },
        Flavor::MultiThread => quote! { #krate::Builder::new_multi_thread() },
    };
    let worker_threads = config
        .worker_threads
        .map(|n| {
            let n = proc_macro2::Literal::usize_unsuffixed(n);
            quote! { .worker_threads(#n) }
        })
        .unwrap_or_default();
    let start_paused = config
        .start_paused
        .map(|b| quote! { .start_paused(#b) })
        .unwrap_or_default();

    // Check the async block's output against the declared return type, spanned at
    // that type, so a mismatch points at the user's code rather than at the glue.
    let (output, output_span) = match &sig.output {
        syn::ReturnType::Default => (quote! { () }, Span::call_site()),
        syn::ReturnType::Type(_, ty) => (ty.to_token_stream(), ty.span()),
    };
    let async_block = quote_spanned! {item.brace_span=> async move #block };
    let body = quote_spanned! {output_span=>
        let body = #async_block;
        let body: ::core::pin::Pin<&mut dyn ::core::future::Future<Output = #output>> =
            ::core::pin::pin!(body);
    };

    let test_attr = match kind {
        Kind::Test => quote! { #[::core::prelude::v1::test] },
        Kind::Main => TokenStream::new(),
    };

    quote! {
        #test_attr
        #(#attrs)*
        #vis #sig {
            #body
            #[allow(clippy::expect_used)]
            #builder
                #worker_threads
                #start_paused
                .build()
                .expect("failed to build the runtime")
                .block_on(body)
        }
    }
}

/// The `compile_error!`s plus a stand-in for the item.
fn with_error(item: &ItemFn, error: &syn::Error) -> TokenStream {
    let error = error.to_compile_error();
    let item = fallback(item);
    quote! { #error #item }
}

/// A stand-in for an item the macro rejected.
///
/// Emitting the user's function keeps an IDE's completion and go-to-definition
/// working in its body while the attribute is wrong. It is emitted verbatim but
/// nested, never called, inside a plain `fn` of the same name that takes nothing and
/// returns `()`: rustc then adds none of its own errors (such as "`main` function is
/// not allowed to be `async`" or "`main` function has wrong type") to ours.
fn fallback(item: &ItemFn) -> TokenStream {
    let attrs = &item.attrs;
    let inner_attrs = &item.inner_attrs;
    let vis = &item.vis;
    let sig = &item.sig;
    let ident = &sig.ident;
    let body = &item.body;
    let mut block = Group::new(Delimiter::Brace, quote! { #(#inner_attrs)* #body });
    block.set_span(item.brace_span);
    quote! {
        #(#attrs)*
        #[allow(dead_code)]
        #vis fn #ident() {
            #[allow(dead_code)]
            #sig #block
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(args: TokenStream, kind: Kind) -> Config {
        parse_config(args, kind).expect("valid arguments")
    }

    fn error(args: TokenStream, kind: Kind) -> String {
        match parse_config(args, kind) {
            Ok(_) => panic!("arguments accepted"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn defaults_follow_the_macro() {
        let main = config(quote!(), Kind::Main);
        assert_eq!(main.flavor, Flavor::MultiThread);
        assert_eq!(main.worker_threads, None);
        assert_eq!(main.crate_path.to_token_stream().to_string(), ":: runtime");
        assert_eq!(config(quote!(), Kind::Test).flavor, Flavor::CurrentThread);
    }

    #[test]
    fn accepts_every_key() {
        let c = config(
            quote!(
                flavor = "multi_thread",
                worker_threads = 3,
                crate = "my::rt",
            ),
            Kind::Test,
        );
        assert_eq!(c.flavor, Flavor::MultiThread);
        assert_eq!(c.worker_threads, Some(3));
        assert_eq!(c.crate_path.to_token_stream().to_string(), "my :: rt");
        let c = config(quote!(flavor = "current_thread"), Kind::Main);
        assert_eq!(c.flavor, Flavor::CurrentThread);
        // `main` is multi-thread by default, so `worker_threads` alone is fine.
        assert_eq!(
            config(quote!(worker_threads = 2), Kind::Main).worker_threads,
            Some(2)
        );
    }

    #[test]
    fn rejects_unknown_key() {
        let e = error(quote!(flavour = "multi_thread"), Kind::Main);
        assert!(e.contains("unknown argument `flavour`"), "{e}");
        assert!(
            e.contains("`flavor`, `worker_threads`, `start_paused`, `crate`"),
            "{e}"
        );
        assert!(error(quote!(a::b = 1), Kind::Main).contains("`a::b`"));
        assert!(error(quote!(start_paused), Kind::Test).contains("needs a value"));
    }

    #[test]
    fn rejects_bad_flavor() {
        let e = error(quote!(flavor = "single"), Kind::Main);
        assert!(e.contains("unknown runtime flavor `single`"), "{e}");
        let e = error(quote!(flavor = current_thread), Kind::Main);
        assert!(e.contains("must be a string"), "{e}");
        let e = error(quote!(flavor), Kind::Main);
        assert!(e.contains("needs a value"), "{e}");
    }

    #[test]
    fn rejects_bad_worker_threads() {
        let e = error(quote!(worker_threads = 0), Kind::Main);
        assert!(e.contains("at least 1"), "{e}");
        for bad in [
            quote!(worker_threads = "4"),
            quote!(worker_threads = -1),
            quote!(worker_threads = N),
        ] {
            let e = error(bad, Kind::Main);
            assert!(e.contains("positive integer literal"), "{e}");
        }
    }

    #[test]
    fn rejects_worker_threads_on_current_thread() {
        let e = error(
            quote!(flavor = "current_thread", worker_threads = 2),
            Kind::Main,
        );
        assert!(
            e.contains("can't be used with `flavor = \"current_thread\"`"),
            "{e}"
        );
        // `test` defaults to current-thread: the message says so.
        let e = error(quote!(worker_threads = 2), Kind::Test);
        assert!(e.contains("defaults to `current_thread`"), "{e}");
    }

    #[test]
    fn start_paused_on_current_thread_only() {
        assert_eq!(
            config(quote!(start_paused = true), Kind::Test).start_paused,
            Some(true)
        );
        assert_eq!(
            config(quote!(start_paused = false), Kind::Test).start_paused,
            Some(false)
        );
        let c = config(
            quote!(flavor = "current_thread", start_paused = true),
            Kind::Main,
        );
        assert_eq!(
            (c.flavor, c.start_paused),
            (Flavor::CurrentThread, Some(true))
        );
        let e = error(
            quote!(flavor = "multi_thread", start_paused = true),
            Kind::Test,
        );
        assert!(
            e.contains("can't be used with `flavor = \"multi_thread\"`"),
            "{e}"
        );
        // `main` defaults to multi-thread: the message says so.
        let e = error(quote!(start_paused = false), Kind::Main);
        assert!(e.contains("defaults to `multi_thread`"), "{e}");
    }

    #[test]
    fn rejects_bad_start_paused() {
        for bad in [
            quote!(start_paused = "true"),
            quote!(start_paused = 1),
            quote!(start_paused = yes),
        ] {
            let e = error(bad, Kind::Test);
            assert!(e.contains("must be `true` or `false`"), "{e}");
        }
    }

    #[test]
    fn expands_start_paused() {
        let out = expand(
            quote!(start_paused = true),
            quote!(
                async fn t() {}
            ),
            Kind::Test,
        )
        .to_string();
        assert!(
            out.contains("new_current_thread () . start_paused (true) . build ()"),
            "{out}"
        );
    }

    #[test]
    fn rejects_duplicates() {
        let e = error(
            quote!(flavor = "multi_thread", flavor = "multi_thread"),
            Kind::Main,
        );
        assert!(e.contains("duplicate `flavor` argument"), "{e}");
        let e = error(quote!(crate = "a", crate = "b"), Kind::Main);
        assert!(e.contains("duplicate `crate` argument"), "{e}");
    }

    #[test]
    fn reports_every_error() {
        match parse_config(quote!(foo = 1, worker_threads = 0), Kind::Main) {
            Ok(_) => panic!("arguments accepted"),
            Err(e) => assert_eq!(e.into_iter().count(), 2),
        }
    }

    #[test]
    fn expands_main() {
        let out = expand(
            quote!(worker_threads = 4),
            quote!(
                async fn main() -> std::io::Result<()> {
                    Ok(())
                }
            ),
            Kind::Main,
        )
        .to_string();
        assert!(
            out.contains(":: runtime :: Builder :: new_multi_thread ()"),
            "{out}"
        );
        assert!(out.contains(". worker_threads (4)"), "{out}");
        assert!(
            out.contains("fn main () -> std :: io :: Result < () >"),
            "{out}"
        );
        assert!(!out.contains("async fn"), "{out}");
        assert!(!out.contains("test"), "{out}");
    }

    #[test]
    fn expands_test_with_attrs() {
        let out = expand(
            quote!(crate = "rt"),
            quote!(
                #[should_panic]
                async fn boom() {
                    #![allow(unused)]
                    panic!()
                }
            ),
            Kind::Test,
        )
        .to_string();
        assert!(
            out.starts_with("# [:: core :: prelude :: v1 :: test]"),
            "{out}"
        );
        assert!(out.contains("# [should_panic]"), "{out}");
        assert!(out.contains("# [allow (unused)] fn boom ()"), "{out}");
        assert!(
            out.contains("rt :: Builder :: new_current_thread ()"),
            "{out}"
        );
    }

    #[test]
    fn signature_errors_keep_the_item() {
        let out = expand(
            quote!(),
            quote!(
                fn main(x: u8) {}
            ),
            Kind::Main,
        )
        .to_string();
        assert!(out.contains("compile_error"), "{out}");
        assert!(out.contains("the `async` keyword is missing"), "{out}");
        assert!(out.contains("can't take arguments"), "{out}");
        assert!(
            out.contains("fn main () { # [allow (dead_code)] fn main (x : u8) { } }"),
            "{out}"
        );
        let out = expand(
            quote!(),
            quote!(
                #[test]
                async fn t() {}
            ),
            Kind::Test,
        )
        .to_string();
        assert!(out.contains("already adds one"), "{out}");
    }
}
