//! Reply assembly: options merged from every scope (host > class > pool > subnet >
//! global), ordered by the client's parameter request list, fitted to its size budget.

use std::net::Ipv4Addr;

use zerotouch_proto::v4::{
    EncodeOutcome, Message, MessageType, OptionCode, ReplyEncoder, ReplyOption,
};

use zerotouch_plugin::Draft4;

use super::context::Exchange;
use crate::config::{BootFields, Dhcp4, Host, OptionSet, Subnet};

/// What distinguishes one reply from another beyond the exchange itself.
pub(super) struct ReplySpec<'s> {
    pub msg_type: MessageType,
    pub yiaddr: Ipv4Addr,
    /// The subnet the address (or, for INFORM, the client) is in.
    pub subnet: Option<&'s Subnet>,
    /// Lease lifetime in seconds; `None` for INFORM and NAK.
    pub lease_time: Option<u32>,
    /// Text for option 56 (NAK).
    pub message: Option<&'s str>,
}

/// Encodes the reply `spec` describes into `out`, fitted to the client's budget.
pub(super) fn build(
    cfg: &Dhcp4,
    ex: &Exchange<'_>,
    spec: &ReplySpec<'_>,
    out: &mut Vec<u8>,
) -> EncodeOutcome {
    let (header, opts) = assemble(cfg, ex, spec);
    let relay_info = ex.request.options.get(OptionCode::RELAY_AGENT_INFORMATION);
    ReplyEncoder::encode(&header, &opts, relay_info, ex.request.reply_budget(), out)
}

/// The reply `spec` describes as an editable draft, for plugins (`reply_ready`).
pub(super) fn draft(cfg: &Dhcp4, ex: &Exchange<'_>, spec: &ReplySpec<'_>) -> Draft4 {
    let (mut message, opts) = assemble(cfg, ex, spec);
    let bytes = opts.iter().map(|o| o.data.len()).sum();
    message.options = zerotouch_proto::v4::Options::with_capacity(opts.len(), bytes);
    let mut required = Vec::with_capacity(8);
    for o in &opts {
        message.options.append(o.code, &o.data);
        if o.required {
            required.push(o.code);
        }
    }
    Draft4 { message, required }
}

/// The reply's header and its options in priority order.
fn assemble<'c>(
    cfg: &'c Dhcp4,
    ex: &'c Exchange<'_>,
    spec: &ReplySpec<'c>,
) -> (Message, Vec<ReplyOption<'c>>) {
    let req = ex.request;
    let mut header = Message::reply_header(req, spec.msg_type);
    header.yiaddr = spec.yiaddr;

    let mut opts: Vec<ReplyOption<'_>> = Vec::with_capacity(16);
    opts.push(ReplyOption::required(
        OptionCode::MESSAGE_TYPE,
        [spec.msg_type.to_u8()],
    ));
    opts.push(ReplyOption::required(
        OptionCode::SERVER_IDENTIFIER,
        ex.server_id.octets(),
    ));
    if let Some(valid) = spec.lease_time {
        let (t1, t2) = spec.subnet.map_or(cfg.times, |s| s.times).t1_t2(valid);
        opts.push(ReplyOption::required(
            OptionCode::LEASE_TIME,
            valid.to_be_bytes(),
        ));
        opts.push(ReplyOption::required(
            OptionCode::RENEWAL_TIME,
            t1.to_be_bytes(),
        ));
        opts.push(ReplyOption::required(
            OptionCode::REBINDING_TIME,
            t2.to_be_bytes(),
        ));
    }
    // RFC 6842: echo the client identifier in every reply.
    if let Some(id) = req.client_identifier() {
        opts.push(ReplyOption::required(OptionCode::CLIENT_IDENTIFIER, id));
    }
    if spec.msg_type == MessageType::Nak {
        if let Some(m) = spec.message {
            opts.push(ReplyOption::optional(OptionCode::MESSAGE, m.as_bytes()));
        }
    } else {
        let scopes = Scopes::of(cfg, ex, spec);
        header.siaddr = scopes
            .boot
            .iter()
            .find_map(|b| b.next_server)
            .unwrap_or(header.siaddr);
        if let Some(name) = scopes
            .boot
            .iter()
            .find_map(|b| b.server_hostname.as_deref())
        {
            header.set_sname(name.as_bytes());
        }
        if let Some(file) = scopes.boot.iter().find_map(|b| b.boot_file_name.as_deref()) {
            header.set_file(file.as_bytes());
        }
        add_configured(ex, spec, &scopes, &mut opts);
    }
    (header, opts)
}

/// The configuration scopes that apply to a reply, most specific first: host
/// reservation, classes (in definition order), pool, subnet, `[dhcp4]`.
struct Scopes<'c> {
    host: Option<&'c Host>,
    options: Vec<&'c OptionSet>,
    boot: Vec<&'c BootFields>,
}

impl<'c> Scopes<'c> {
    fn of(cfg: &'c Dhcp4, ex: &'c Exchange<'_>, spec: &ReplySpec<'c>) -> Self {
        let host = ex.host_entry(cfg);
        let pool = spec.subnet.and_then(|s| {
            let a = u32::from(spec.yiaddr);
            s.pools.iter().find(|p| p.contains(a))
        });
        let mut scopes = Scopes {
            host,
            options: Vec::with_capacity(4 + ex.classes.len()),
            boot: Vec::new(),
        };
        let mut add = |options: &'c OptionSet, boot: &'c BootFields| {
            scopes.options.push(options);
            scopes.boot.push(boot);
        };
        if let Some(h) = host {
            add(&h.options, &h.boot);
        }
        for &c in &ex.classes {
            add(&cfg.classes[c].options, &cfg.classes[c].boot);
        }
        if let Some(p) = pool {
            add(&p.options, &p.boot);
        }
        if let Some(s) = spec.subnet {
            add(&s.options, &s.boot);
        }
        add(&cfg.options, &cfg.boot);
        scopes
    }
}

/// Configured options the client asked for, in its order, then those marked `always`.
fn add_configured<'c>(
    ex: &Exchange<'_>,
    spec: &ReplySpec<'c>,
    scopes: &Scopes<'c>,
    opts: &mut Vec<ReplyOption<'c>>,
) {
    let host = scopes.host;
    let scopes = &scopes.options;
    let lookup = |code: u8| scopes.iter().find_map(|s| s.get(code));

    // The subnet mask comes from the subnet's prefix unless configured; clients cannot
    // do without it, so it is never dropped for size.
    if let Some(s) = spec.subnet
        && lookup(OptionCode::SUBNET_MASK).is_none()
    {
        opts.push(ReplyOption::required(
            OptionCode::SUBNET_MASK,
            s.net.netmask().octets(),
        ));
    }
    let hostname = host.and_then(|h| h.hostname.as_deref());
    for &code in ex.request.parameter_request_list() {
        if opts.iter().any(|o| o.code == code) {
            continue;
        }
        if let Some(o) = lookup(code) {
            let required = code == OptionCode::SUBNET_MASK;
            opts.push(ReplyOption {
                code,
                data: o.data.as_slice().into(),
                required,
            });
        } else if code == OptionCode::HOST_NAME
            && let Some(name) = hostname
        {
            opts.push(ReplyOption::optional(code, name.as_bytes()));
        }
    }
    for scope in scopes {
        for o in scope.0.iter().filter(|o| o.always) {
            // A more specific scope may have set the same code without `always`: that
            // value wins, and is sent because some scope asked for it always.
            if !opts.iter().any(|x| x.code == o.code)
                && let Some(winner) = lookup(o.code)
            {
                opts.push(ReplyOption::optional(o.code, winner.data.as_slice()));
            }
        }
    }
}
