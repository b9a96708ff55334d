//! `noop` as a shared object: every hook ABI version 1 carries (packet received, reply
//! ready, lease events) crosses the C ABI and does nothing.

zerotouch_plugin::export_plugin!("noop", zerotouch_plugin_noop::Noop::create);
