//! Parsing and expansion of `select!`.
//!
//! The `runtime::select!` front-end (a `macro_rules!` in the `runtime` crate)
//! calls [`expand`] with its own `$crate` in parentheses first, then the
//! user's tokens:
//!
//! ```text
//! (::runtime) biased; Some(v) = rx.recv(), if open => handle(v), else => 0
//! ```
//!
//! # Expansion
//!
//! For `n` branches the output is one block that
//!
//! 1. evaluates the `if` preconditions in order, setting one bit per false
//!    precondition in a `u64` mask of disabled branches;
//! 2. evaluates every future expression once, in order, into a tuple (first
//!    as written, so temporaries in them live as long as the tuple does, then
//!    through `IntoFuture`); the tuple stays on the stack of the enclosing
//!    async block and is never moved, which is what makes the
//!    `Pin::new_unchecked` on its fields sound;
//! 3. awaits a `poll_fn` that, unless the task's budget is spent, polls the
//!    enabled futures starting at a random branch (or at the first with
//!    `biased;`). A future that completes is disabled; if its output matches
//!    the branch's pattern (tested by reference, with binding modes removed),
//!    the output is returned in a variant of a local enum, one variant per
//!    branch, otherwise polling goes on with the others. When every branch is
//!    disabled the enum's `Disabled` variant comes back;
//! 4. matches that enum outside the closure, so handlers run in the
//!    enclosing function: `return`, `?`, `break` and `continue` in a handler
//!    act on it, as in tokio.
//!
//! Names the expansion introduces are spanned at `Span::mixed_site()`, so
//! they are invisible to the user's expressions and cannot shadow theirs.

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::{format_ident, quote, quote_spanned};
use syn::parse::{Parse, ParseStream, Parser};
use syn::spanned::Spanned;
use syn::visit_mut::VisitMut;
use syn::{Expr, Pat, Token};

/// The most branches one `select!` takes: one bit each in a `u64` mask.
pub(crate) const MAX_BRANCHES: usize = 64;

/// One `<pattern> = <future> (, if <precondition>)? => <handler>` branch.
struct Branch {
    pat: Pat,
    fut: Expr,
    cond: Option<Expr>,
    handler: Expr,
}

/// A whole `select!` invocation, less the crate path.
struct Select {
    biased: bool,
    branches: Vec<Branch>,
    /// The `else` branch's expression.
    else_expr: Option<Expr>,
}

/// Whether the input starts with `biased ;`.
fn peek_biased(input: ParseStream<'_>) -> bool {
    let fork = input.fork();
    match fork.parse::<syn::Ident>() {
        Ok(ident) => ident == "biased" && fork.peek(Token![;]),
        Err(_) => false,
    }
}

impl Parse for Select {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let biased = peek_biased(input);
        if biased {
            input.parse::<syn::Ident>()?;
            input.parse::<Token![;]>()?;
        }
        let mut branches = Vec::new();
        let mut else_expr = None;
        while !input.is_empty() {
            if peek_biased(input) {
                let ident: syn::Ident = input.parse()?;
                let msg = if biased && branches.is_empty() && else_expr.is_none() {
                    "`biased;` may appear only once in `select!`"
                } else {
                    "`biased;` must come before the first branch of `select!`"
                };
                return Err(syn::Error::new(ident.span(), msg));
            }
            if input.peek(Token![else]) {
                let kw: Token![else] = input.parse()?;
                if else_expr.is_some() {
                    return Err(syn::Error::new(
                        kw.span,
                        "`select!` takes at most one `else` branch",
                    ));
                }
                input.parse::<Token![=>]>()?;
                let expr: Expr = input.parse()?;
                if !input.is_empty() {
                    input.parse::<Token![,]>()?;
                }
                if !input.is_empty() {
                    return Err(syn::Error::new(
                        kw.span,
                        "the `else` branch must be the last branch of `select!`",
                    ));
                }
                else_expr = Some(expr);
                continue;
            }
            let pat = Pat::parse_multi_with_leading_vert(input)?;
            if !input.peek(Token![=]) || input.peek(Token![=>]) || input.peek(Token![==]) {
                return Err(input.error(
                    "expected `=` after the pattern of a `select!` branch: \
                     `<pattern> = <future> => <handler>`",
                ));
            }
            input.parse::<Token![=]>()?;
            let fut: Expr = input.parse()?;
            let cond = if input.peek(Token![,]) && input.peek2(Token![if]) {
                input.parse::<Token![,]>()?;
                input.parse::<Token![if]>()?;
                Some(input.parse::<Expr>()?)
            } else {
                None
            };
            if !input.peek(Token![=>]) {
                return Err(input.error(
                    "expected `=>` after the future of a `select!` branch: \
                     `<pattern> = <future> => <handler>` or \
                     `<pattern> = <future>, if <condition> => <handler>`",
                ));
            }
            input.parse::<Token![=>]>()?;
            let handler: Expr = if input.peek(syn::token::Brace) {
                let block: syn::ExprBlock = input.parse()?;
                if input.peek(Token![,]) {
                    input.parse::<Token![,]>()?;
                }
                Expr::Block(block)
            } else {
                let expr: Expr = input.parse()?;
                if !input.is_empty() {
                    if !input.peek(Token![,]) {
                        return Err(input.error(
                            "expected `,` after the handler of a `select!` branch \
                             (a handler that is not a `{ block }` needs one)",
                        ));
                    }
                    input.parse::<Token![,]>()?;
                }
                expr
            };
            branches.push(Branch {
                pat,
                fut,
                cond,
                handler,
            });
        }
        Ok(Select {
            biased,
            branches,
            else_expr,
        })
    }
}

/// Splits off the leading `($crate)` group the front-end adds.
pub(crate) fn split_crate_path(input: TokenStream) -> syn::Result<(TokenStream, TokenStream)> {
    let mut iter = input.into_iter();
    match iter.next() {
        Some(TokenTree::Group(g)) if g.delimiter() == proc_macro2::Delimiter::Parenthesis => {
            Ok((g.stream(), iter.collect()))
        }
        _ => Err(syn::Error::new(
            Span::call_site(),
            "this macro is an implementation detail: use `runtime::select!`, \
             `runtime::join!` or `runtime::try_join!`",
        )),
    }
}

/// Expands a `select!` invocation; errors become `compile_error!`s.
pub(crate) fn expand(input: TokenStream) -> TokenStream {
    match try_expand(input) {
        Ok(out) => out,
        Err(e) => e.to_compile_error(),
    }
}

fn try_expand(input: TokenStream) -> syn::Result<TokenStream> {
    let (krate, rest) = split_crate_path(input)?;
    let select = Select::parse.parse2(rest)?;
    if select.branches.len() > MAX_BRANCHES {
        return Err(syn::Error::new(
            select.branches[MAX_BRANCHES].pat.span(),
            format!("`select!` takes at most {MAX_BRANCHES} branches"),
        ));
    }
    Ok(generate(&krate, &select))
}

/// Turns a pattern into one that tests `&output` without moving out of it:
/// `ref`, `ref mut` and `mut` on bindings are dropped, so default binding
/// modes bind by reference.
struct CleanPattern;

impl VisitMut for CleanPattern {
    fn visit_pat_ident_mut(&mut self, p: &mut syn::PatIdent) {
        p.by_ref = None;
        p.mutability = None;
        syn::visit_mut::visit_pat_ident_mut(self, p);
    }
}

fn generate(krate: &TokenStream, select: &Select) -> TokenStream {
    let def = Span::mixed_site();
    let else_expr = match &select.else_expr {
        Some(e) => quote! { #e },
        None => quote_spanned! {def=>
            ::core::panic!("all branches are disabled and there is no else branch")
        },
    };
    let n = select.branches.len();
    if n == 0 {
        // `select! { else => e }`, as in tokio: just `e`.
        if select.else_expr.is_some() {
            return quote! { { #else_expr } };
        }
        return quote_spanned! {def=>
            ::core::compile_error!("`select!` needs at least one branch")
        };
    }

    let out_enum = format_ident!("__SelectOut", span = def);
    let disabled = format_ident!("__disabled", span = def);
    let futures = format_ident!("__futures", span = def);
    let futures_init = format_ident!("__futures_init", span = def);
    let output = format_ident!("__output", span = def);
    let cx = format_ident!("__cx", span = def);
    let out = format_ident!("__out", span = def);
    let is_pending = format_ident!("__is_pending", span = def);
    let start = format_ident!("__start", span = def);
    let branch = format_ident!("__branch", span = def);

    let n_u32 = n as u32;
    let type_params: Vec<_> = (0..n)
        .map(|i| format_ident!("__T{}", i, span = def))
        .collect();
    let variants: Vec<_> = (0..n)
        .map(|i| format_ident!("__B{}", i, span = def))
        .collect();
    let idx: Vec<_> = (0..n).map(syn::Index::from).collect();
    let branch_no: Vec<_> = (0..n as u32).collect();

    let preconditions = select.branches.iter().zip(&branch_no).map(|(b, i)| {
        b.cond.as_ref().map(|c| {
            quote! {
                if !(#c) {
                    #disabled |= 1u64 << #i;
                }
            }
        })
    });
    let futs = select.branches.iter().map(|b| &b.fut);

    let start_expr = if select.biased {
        quote_spanned! {def=> 0u32 }
    } else {
        quote_spanned! {def=> #krate::__private::thread_rng_n(#n_u32) }
    };

    let poll_arms = select.branches.iter().enumerate().map(|(i, b)| {
        let mut clean = b.pat.clone();
        CleanPattern.visit_pat_mut(&mut clean);
        let v = &variants[i];
        let field = &idx[i];
        let bit = i as u32;
        quote_spanned! {def=>
            #bit => {
                if #disabled & (1u64 << #bit) != 0 {
                    continue;
                }
                // SAFETY: the tuple `__futures` points to lives on the stack
                // of the enclosing async block, is never moved and is only
                // reachable through this `&mut`; it is dropped in place
                // when the block ends, so each field stays pinned.
                let __fut = unsafe {
                    #krate::__private::Pin::new_unchecked(&mut #futures.#field)
                };
                let #out = match #krate::__private::Future::poll(__fut, #cx) {
                    #krate::__private::Poll::Ready(__v) => __v,
                    #krate::__private::Poll::Pending => {
                        #is_pending = true;
                        continue;
                    }
                };
                #disabled |= 1u64 << #bit;
                #[allow(unused_variables, unused_mut, unreachable_patterns)]
                match &#out {
                    #clean => {}
                    _ => continue,
                }
                return #krate::__private::Poll::Ready(#out_enum::#v(#out));
            }
        }
    });

    let handler_arms = select.branches.iter().enumerate().map(|(i, b)| {
        let v = &variants[i];
        let pat = &b.pat;
        let handler = &b.handler;
        quote! { #out_enum::#v(#pat) => #handler, }
    });

    quote_spanned! {def=> {
        #[allow(non_camel_case_types, dead_code)]
        enum #out_enum<#(#type_params),*> {
            #( #variants(#type_params), )*
            Disabled,
        }

        let mut #disabled: u64 = 0;
        #( #preconditions )*

        let mut #output = {
            let #futures_init = ( #( #futs, )* );
            let mut #futures = (
                #( #krate::__private::IntoFuture::into_future(#futures_init.#idx), )*
            );
            // The closure borrows the futures; it never owns (and so never
            // moves) them.
            let #futures = &mut #futures;
            #krate::__private::poll_fn(|#cx| {
                if #krate::__private::poll_budget_available(#cx).is_pending() {
                    return #krate::__private::Poll::Pending;
                }
                let mut #is_pending = false;
                let #start: u32 = #start_expr;
                for __i in 0..#n_u32 {
                    #[allow(clippy::modulo_one)]
                    let #branch = (#start + __i) % #n_u32;
                    #[allow(unreachable_code)]
                    match #branch {
                        #( #poll_arms )*
                        _ => ::core::unreachable!("`select!` branch index out of range"),
                    }
                }
                if #is_pending {
                    #krate::__private::Poll::Pending
                } else {
                    #krate::__private::Poll::Ready(#out_enum::Disabled)
                }
            })
            .await
        };

        #[allow(unreachable_patterns, unused_mut)]
        match #output {
            #( #handler_arms )*
            #out_enum::Disabled => #else_expr,
            _ => ::core::unreachable!("`select!` output did not match its branch's pattern"),
        }
    }}
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(tokens: TokenStream) -> syn::Result<Select> {
        Select::parse.parse2(tokens)
    }

    fn error(tokens: TokenStream) -> String {
        match parse(tokens) {
            Ok(_) => panic!("parsed"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn parses_every_form() {
        let s = parse(quote! {
            biased;
            Some(v) = rx.recv(), if open => v,
            _ = async {} => { 1 }
            x = fut => { x } ,
            else => 0,
        })
        .unwrap();
        assert!(s.biased);
        assert_eq!(s.branches.len(), 3);
        assert!(s.branches[0].cond.is_some());
        assert!(s.branches[1].cond.is_none());
        assert!(s.else_expr.is_some());
    }

    #[test]
    fn rejects_misuse() {
        assert!(error(quote! { _ = fut }).contains("expected `=>`"));
        assert!(error(quote! { _ = a => 1 _ = b => 2 }).contains("expected `,`"));
        assert!(error(quote! { _ = a => 1, biased; }).contains("before the first branch"));
        assert!(error(quote! { biased; biased; _ = a => 1 }).contains("only once"));
        assert!(error(quote! { else => 1, _ = a => 2 }).contains("last branch"));
        assert!(error(quote! { _ => 1 }).contains("expected `=`"));
    }

    #[test]
    fn clean_pattern_drops_binding_modes() {
        let mut p: Pat = syn::parse_quote!((mut a, ref b, Some(ref mut c)));
        CleanPattern.visit_pat_mut(&mut p);
        assert_eq!(quote!(#p).to_string(), quote!((a, b, Some(c))).to_string());
    }
}
