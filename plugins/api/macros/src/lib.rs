//! `#[zerotouch_plugin::plugin]`, put on a plugin's `impl Plugin for ...` block: the
//! hooks the block writes are the hooks the server calls (no second list to keep in
//! step), and a block without `type Scope` takes no settings in the server's scopes.
//!
//! Written on `proc_macro` alone: it only reads the names of the block's functions and
//! types, so it needs no parser crate.

use proc_macro::{Delimiter, Group, Span, TokenStream, TokenTree};

/// The hook functions of `zerotouch_plugin::Plugin`: name, family, hook point.
const HOOKS: &[(&str, &str, &str)] = &[
    ("packet_received4", "V4", "PacketReceived"),
    ("classes_assigned4", "V4", "ClassesAssigned"),
    ("subnet_selected4", "V4", "SubnetSelected"),
    ("host_looked_up4", "V4", "HostLookedUp"),
    ("lease_chosen4", "V4", "LeaseChosen"),
    ("reply_ready4", "V4", "ReplyReady"),
    ("packet_received6", "V6", "PacketReceived"),
    ("classes_assigned6", "V6", "ClassesAssigned"),
    ("subnet_selected6", "V6", "SubnetSelected"),
    ("host_looked_up6", "V6", "HostLookedUp"),
    ("lease_chosen6", "V6", "LeaseChosen"),
    ("reply_ready6", "V6", "ReplyReady"),
];

/// Derives `const HOOKS` of a `Plugin` impl from the hook functions it writes, and adds
/// `type Scope = zerotouch_plugin::NoScope` when the block has no `type Scope`.
#[proc_macro_attribute]
pub fn plugin(attr: TokenStream, item: TokenStream) -> TokenStream {
    if let Some(t) = attr.into_iter().next() {
        return error(t.span(), "#[plugin] takes no arguments");
    }
    let mut tokens: Vec<TokenTree> = item.into_iter().collect();
    let Some(body_at) = tokens
        .iter()
        .rposition(|t| matches!(t, TokenTree::Group(g) if g.delimiter() == Delimiter::Brace))
    else {
        return error(
            Span::call_site(),
            "#[plugin] goes on an `impl Plugin for ...` block",
        );
    };
    let TokenTree::Group(body) = &tokens[body_at] else {
        unreachable!("found as a brace group above")
    };
    let inner: Vec<TokenTree> = body.stream().into_iter().collect();
    let mut served = Vec::new();
    let mut has_scope = false;
    let mut lease_events = false;
    for pair in inner.windows(2) {
        let (TokenTree::Ident(kw), TokenTree::Ident(name)) = (&pair[0], &pair[1]) else {
            continue;
        };
        let (kw, name) = (kw.to_string(), name.to_string());
        match kw.as_str() {
            "fn" if name == "lease_event" => lease_events = true,
            "fn" => served.extend(HOOKS.iter().filter(|h| h.0 == name)),
            "type" if name == "Scope" => has_scope = true,
            "const" if name == "HOOKS" => {
                return error(
                    pair[1].span(),
                    "#[plugin] writes HOOKS from the hook functions of this block: remove this one",
                );
            }
            _ => {}
        }
    }
    let mut hooks = String::from("::zerotouch_plugin::HookSet::EMPTY");
    for (_, family, point) in served {
        hooks.push_str(&format!(
            ".with(::zerotouch_plugin::Family::{family}, ::zerotouch_plugin::HookPoint::{point})"
        ));
    }
    if lease_events {
        hooks.push_str(".with_lease_events()");
    }
    let mut added = format!("const HOOKS: ::zerotouch_plugin::HookSet = {hooks};");
    if !has_scope {
        added.push_str("type Scope = ::zerotouch_plugin::NoScope;");
    }
    let mut stream: TokenStream = added.parse().expect("well-formed items");
    stream.extend(inner);
    let mut group = Group::new(Delimiter::Brace, stream);
    group.set_span(body.span());
    tokens[body_at] = TokenTree::Group(group);
    tokens.into_iter().collect()
}

/// A `compile_error!` at `span`.
fn error(span: Span, message: &str) -> TokenStream {
    let call: TokenStream = format!("::core::compile_error!({message:?});")
        .parse()
        .expect("well-formed macro call");
    call.into_iter()
        .map(|mut t| {
            t.set_span(span);
            t
        })
        .collect()
}
