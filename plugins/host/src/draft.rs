//! A plugin's DHCPv4 reply draft put on the wire: the server and the relay encode a
//! draft their hooks edited (or a plugin's own answer) the same way.

use zerotouch_plugin::Draft4;
use zerotouch_proto::v4::{EncodeOutcome, Message, OptionCode, ReplyEncoder, ReplyOption};

/// Encodes a draft (a plugin's edit, or its own answer) into `out`, fitted to the
/// client's budget: options in the draft's order, those the server required kept (and
/// the message type and server identifier always, whoever built the draft),
/// plugin-added ones dropped first from the end; option 82 echoed from the request.
pub fn encode_draft(draft: &Draft4, request: &Message, out: &mut Vec<u8>) -> EncodeOutcome {
    let mut opts: Vec<ReplyOption<'_>> = Vec::with_capacity(draft.message.options.len());
    opts.extend(
        draft
            .message
            .options
            .iter()
            .filter(|(code, _)| *code != OptionCode::RELAY_AGENT_INFORMATION)
            .map(|(code, data)| ReplyOption {
                code,
                data: data.into(),
                required: matches!(
                    code,
                    OptionCode::MESSAGE_TYPE | OptionCode::SERVER_IDENTIFIER
                ) || draft.required.contains(&code),
            }),
    );
    let relay_info = request.options.get(OptionCode::RELAY_AGENT_INFORMATION);
    ReplyEncoder::encode(
        &draft.message,
        &opts,
        relay_info,
        request.reply_budget(),
        out,
    )
}
