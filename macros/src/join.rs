//! Parsing and expansion of `join!` and `try_join!`.
//!
//! The `runtime` front-ends call [`expand`] with `($crate)` first, then the
//! user's tokens: an optional `biased;` and a comma-separated list of
//! expressions.
//!
//! # Expansion
//!
//! Each expression is evaluated once, in order, and wrapped in a
//! `MaybeDone` (which keeps a finished future's output) in a tuple on the
//! stack of the enclosing async block; the tuple is never moved, which makes
//! the `Pin::new_unchecked` on its fields sound. A `poll_fn` then polls every
//! unfinished future on each wake-up. Each poll starts one future further
//! along than the last (unless `biased;`), so a future that spends the
//! task's whole budget cannot keep the ones after it from running. When all
//! are done the outputs are taken out in order and returned as a tuple.
//!
//! `try_join!` returns as soon as a future finishes with `Err`; the tuple,
//! and with it every other future, is dropped when the macro's block ends.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::parse::{Parse, ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, Token};

/// Which macro is being expanded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `join!`: all outputs, as a tuple.
    Join,
    /// `try_join!`: `Ok` of all outputs' `Ok` values, or the first `Err`.
    TryJoin,
}

struct Join {
    biased: bool,
    futures: Vec<Expr>,
}

impl Parse for Join {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let fork = input.fork();
        let biased =
            matches!(fork.parse::<syn::Ident>(), Ok(i) if i == "biased") && fork.peek(Token![;]);
        if biased {
            input.parse::<syn::Ident>()?;
            input.parse::<Token![;]>()?;
        }
        let futures = Punctuated::<Expr, Token![,]>::parse_terminated(input)?;
        Ok(Join {
            biased,
            futures: futures.into_iter().collect(),
        })
    }
}

/// Expands a `join!` or `try_join!`; errors become `compile_error!`s.
pub(crate) fn expand(input: TokenStream, kind: Kind) -> TokenStream {
    let result = crate::select::split_crate_path(input)
        .and_then(|(krate, rest)| Ok((krate, Join::parse.parse2(rest)?)));
    match result {
        Ok((krate, join)) => generate(&krate, &join, kind),
        Err(e) => e.to_compile_error(),
    }
}

fn generate(krate: &TokenStream, join: &Join, kind: Kind) -> TokenStream {
    let def = Span::mixed_site();
    let n = join.futures.len();
    if n == 0 {
        return match kind {
            Kind::Join => quote_spanned! {def=> async {}.await },
            Kind::TryJoin => quote_spanned! {def=> async { ::core::result::Result::Ok(()) }.await },
        };
    }
    let futures = format_ident!("__futures", span = def);
    let cx = format_ident!("__cx", span = def);
    let is_pending = format_ident!("__is_pending", span = def);
    let next_start = format_ident!("__next_start", span = def);
    let n_u32 = n as u32;
    let idx: Vec<_> = (0..n).map(syn::Index::from).collect();
    let wrapped = join.futures.iter().map(|e| match kind {
        // Spanned at the expression, so a future whose output is not a
        // `Result` is reported there.
        Kind::TryJoin => quote_spanned! {e.span()=> #krate::__private::try_maybe_done(#e) },
        Kind::Join => quote_spanned! {def=> #krate::__private::maybe_done(#e) },
    });

    let pin_field = |field: &syn::Index| {
        quote_spanned! {def=>
            // SAFETY: the tuple `__futures` points to lives on the stack of
            // the enclosing async block, is never moved and is only
            // reachable through this `&mut`; it is dropped in place when the
            // block ends, so each field stays pinned.
            unsafe { #krate::__private::Pin::new_unchecked(&mut #futures.#field) }
        }
    };

    let poll_arms = idx.iter().enumerate().map(|(i, field)| {
        let i = i as u32;
        let pinned = pin_field(field);
        let on_ready = match kind {
            Kind::Join => quote! {},
            Kind::TryJoin => quote_spanned! {def=>
                else if __fut
                    .as_mut()
                    .output_mut()
                    .is_some_and(|__o| #krate::__private::TryJoinOutput::is_err(__o))
                {
                    // Mapping with `Err` (rather than naming the error)
                    // keeps an uninhabited error type from making the
                    // caller's code unreachable.
                    return #krate::__private::Poll::Ready(
                        __fut
                            .take_output()
                            .and_then(|__o| {
                                #krate::__private::TryJoinOutput::into_result(__o).err()
                            })
                            .map(::core::result::Result::Err)
                            .expect("`try_join!` output taken twice"),
                    );
                }
            },
        };
        quote_spanned! {def=>
            #i => {
                let mut __fut = #pinned;
                if #krate::__private::Future::poll(__fut.as_mut(), #cx).is_pending() {
                    #is_pending = true;
                } #on_ready
            }
        }
    });

    let outputs = idx.iter().map(|field| {
        let pinned = pin_field(field);
        let take = quote_spanned! {def=>
            #pinned.take_output().expect("`join!` output taken twice")
        };
        match kind {
            Kind::Join => take,
            Kind::TryJoin => quote_spanned! {def=>
                match #krate::__private::TryJoinOutput::into_result(#take) {
                    ::core::result::Result::Ok(__v) => __v,
                    ::core::result::Result::Err(_) => {
                        ::core::unreachable!("`try_join!` kept an `Err` output")
                    }
                }
            },
        }
    });
    let ready = match kind {
        Kind::Join => quote_spanned! {def=> ( #( #outputs, )* ) },
        Kind::TryJoin => quote_spanned! {def=> ::core::result::Result::Ok(( #( #outputs, )* )) },
    };
    let (declare_start, advance) = if join.biased {
        (quote_spanned! {def=> let #next_start: u32 = 0; }, quote! {})
    } else {
        (
            quote_spanned! {def=> let mut #next_start: u32 = 0; },
            quote_spanned! {def=>
                #next_start = if #next_start + 1 == #n_u32 { 0 } else { #next_start + 1 };
            },
        )
    };

    quote_spanned! {def=> {
        let mut #futures = ( #( #wrapped, )* );
        // The closure borrows the futures; it never owns (and so never
        // moves) them.
        let #futures = &mut #futures;
        #declare_start
        #krate::__private::poll_fn(move |#cx| {
            let mut #is_pending = false;
            let __start = #next_start;
            #advance
            for __k in 0..#n_u32 {
                #[allow(clippy::modulo_one)]
                let __i = (__start + __k) % #n_u32;
                match __i {
                    #( #poll_arms )*
                    _ => ::core::unreachable!("`join!` index out of range"),
                }
            }
            if #is_pending {
                return #krate::__private::Poll::Pending;
            }
            #[allow(unreachable_code)]
            let __ready = #ready;
            #krate::__private::Poll::Ready(__ready)
        })
        .await
    }}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_biased_and_trailing_comma() {
        let j = Join::parse.parse2(quote! { biased; a, b(), }).unwrap();
        assert!(j.biased);
        assert_eq!(j.futures.len(), 2);
        let j = Join::parse.parse2(quote! { biased }).unwrap();
        assert!(!j.biased, "a lone `biased` is an expression");
        assert!(Join::parse.parse2(quote! { a b }).is_err());
    }
}
