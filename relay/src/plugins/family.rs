//! What differs between the families on the relay's plugin path: the request a
//! plugin sees, the reply it edits, and which hook functions are called.

use zerotouch_plugin::erased::DynPlugin;
use zerotouch_plugin::proto::{v4, v6};
use zerotouch_plugin::{
    ClassSet, Context, Family, HookResult, Ingress, Packet4, Packet6, Reply4, Reply6, WireReply,
};

/// One family's requests, replies and hooks, as the relay runs them.
pub(crate) trait HookFamily {
    const FAMILY: Family;
    /// The decoded request, as the relay remembers it for its replies.
    type Request;
    /// The reply plugins edit or answer with.
    type Reply: WireReply;

    fn packet_received(
        p: &dyn DynPlugin,
        ctx: &mut Context,
        request: &Self::Request,
        ingress: Ingress<'_>,
    ) -> HookResult<Self::Reply>;

    fn classes_assigned(
        p: &dyn DynPlugin,
        ctx: &mut Context,
        request: &Self::Request,
        ingress: Ingress<'_>,
        classes: &mut ClassSet<'_>,
    ) -> HookResult<Self::Reply>;

    fn reply_ready(
        p: &dyn DynPlugin,
        ctx: &mut Context,
        request: &Self::Request,
        ingress: Ingress<'_>,
        reply: &mut Self::Reply,
    ) -> HookResult<Self::Reply>;
}

/// DHCPv4: the client's message.
pub(crate) struct V4;

/// DHCPv6: the client's message and the relays below this one.
pub(crate) struct V6;

fn packet4<'a>(m: &'a v4::Message, ingress: Ingress<'a>) -> Packet4<'a> {
    let t = m
        .message_type()
        .unwrap_or_else(|| v4::MessageType::from_u8(0));
    Packet4::new(m, t, ingress)
}

/// `HookFamily` for `$family`: its request and reply types, its packet made by
/// `$packet`, and its three hooks.
macro_rules! hook_family {
    ($family:ident, $request:ty, $reply:ident, $packet:path,
     $received:ident, $classes:ident, $ready:ident) => {
        impl HookFamily for $family {
            const FAMILY: Family = Family::$family;
            type Request = $request;
            type Reply = $reply;

            fn packet_received(
                p: &dyn DynPlugin,
                ctx: &mut Context,
                request: &$request,
                ingress: Ingress<'_>,
            ) -> HookResult<$reply> {
                p.$received(ctx, &$packet(request, ingress))
            }

            fn classes_assigned(
                p: &dyn DynPlugin,
                ctx: &mut Context,
                request: &$request,
                ingress: Ingress<'_>,
                classes: &mut ClassSet<'_>,
            ) -> HookResult<$reply> {
                p.$classes(ctx, &$packet(request, ingress), classes)
            }

            fn reply_ready(
                p: &dyn DynPlugin,
                ctx: &mut Context,
                request: &$request,
                ingress: Ingress<'_>,
                reply: &mut $reply,
            ) -> HookResult<$reply> {
                p.$ready(ctx, &$packet(request, ingress), reply)
            }
        }
    };
}

hook_family!(
    V4,
    v4::Message,
    Reply4,
    packet4,
    packet_received4,
    classes_assigned4,
    reply_ready4
);
hook_family!(
    V6,
    v6::Packet6,
    Reply6,
    Packet6::new,
    packet_received6,
    classes_assigned6,
    reply_ready6
);
