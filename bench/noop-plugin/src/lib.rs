//! `noop` as a shared object: every hook ABI version 2 carries (packet received and
//! reply ready of both families, lease events) crosses the C ABI and does nothing.

zerotouch_plugin::export_plugin!("noop", zerotouch_plugin_noop::Noop);
