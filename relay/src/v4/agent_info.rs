//! Editing the options of a DHCPv4 packet in place, as a relay must: option 82 (RFC
//! 3046) added before the end option, or taken out of a reply, leaving every other
//! octet as the client or server sent it.

use zerotouch_proto::v4::OptionCode;

/// Offset where the options field starts (after the fixed header and magic cookie).
const OPTIONS: usize = 240;
const PAD: u8 = 0;
const END: u8 = 255;

/// (code, offset of the option, its total length) of each option of the options field,
/// and the offset of the end option (the packet's length when it has none). The
/// packet has passed the strict decoder, so every option fits.
fn walk(buf: &[u8]) -> (Vec<(u8, usize, usize)>, usize) {
    let mut found = Vec::new();
    let mut i = OPTIONS;
    while i < buf.len() {
        match buf[i] {
            PAD => i += 1,
            END => return (found, i),
            code => {
                let len = buf.get(i + 1).map_or(0, |l| *l as usize);
                found.push((code, i, 2 + len));
                i += 2 + len;
            }
        }
    }
    (found, buf.len().min(i))
}

/// The contents of every option 82 of the packet, joined (RFC 3396).
pub(crate) fn agent_info(buf: &[u8]) -> Option<Vec<u8>> {
    let (options, _) = walk(buf);
    let parts: Vec<&[u8]> = options
        .iter()
        .filter(|o| o.0 == OptionCode::RELAY_AGENT_INFORMATION)
        .map(|&(_, at, len)| &buf[at + 2..at + len])
        .collect();
    (!parts.is_empty()).then(|| parts.concat())
}

/// The packet without its option 82 instances (a reply on its way to the client).
pub(crate) fn without_agent_info(buf: &[u8]) -> Vec<u8> {
    let (options, end) = walk(buf);
    let mut out = buf[..OPTIONS].to_vec();
    for &(code, at, len) in &options {
        if code != OptionCode::RELAY_AGENT_INFORMATION {
            out.extend_from_slice(&buf[at..at + len]);
        }
    }
    out.extend_from_slice(&buf[end.min(buf.len())..]);
    out
}

/// The packet with option 82 holding `suboptions` (already encoded sub-options),
/// replacing any option 82 there, placed last before the end option. `None` when
/// the value does not fit one option or the packet would grow past `max_len`.
pub(crate) fn with_agent_info(buf: &[u8], suboptions: &[u8], max_len: usize) -> Option<Vec<u8>> {
    if suboptions.is_empty() || suboptions.len() > 255 {
        return None;
    }
    let stripped = without_agent_info(buf);
    let (_, end) = walk(&stripped);
    let mut out = Vec::with_capacity(stripped.len() + 2 + suboptions.len() + 1);
    out.extend_from_slice(&stripped[..end]);
    out.push(OptionCode::RELAY_AGENT_INFORMATION);
    out.push(suboptions.len() as u8);
    out.extend_from_slice(suboptions);
    out.push(END);
    // What followed the end option was padding; keep the packet at least its old size
    // (some servers insist on 300 octets), not more than it needs.
    let padded = stripped.len().max(out.len());
    out.resize(padded, PAD);
    (out.len() <= max_len).then_some(out)
}

/// Sub-options in the RFC 3046 form: code, length, value.
pub(crate) fn encode_suboptions(subs: &[(u8, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (code, value) in subs {
        out.push(*code);
        out.push(value.len().min(255) as u8);
        out.extend_from_slice(&value[..value.len().min(255)]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use zerotouch_proto::v4::{self, Message};

    fn discover() -> Vec<u8> {
        let mut m = Message::client(
            zerotouch_proto::v4::MessageType::Discover,
            7,
            &[2, 0, 0, 0, 0, 1],
        );
        m.options.set(55, vec![1, 3]);
        let mut b = m.to_bytes();
        b.resize(300, 0);
        b
    }

    #[test]
    fn option_82_is_added_last_replaced_and_removed_leaving_the_rest_alone() {
        let d = discover();
        let subs = encode_suboptions(&[(1, b"eth1".to_vec()), (2, vec![2, 0, 0, 0, 0, 9])]);
        let with = with_agent_info(&d, &subs, 576).unwrap();
        assert_eq!(with.len(), 300, "fits in the old padding");
        let m = v4::decode(&with).unwrap();
        assert_eq!(m.options.get(82), Some(&subs[..]));
        assert_eq!(m.options.get(55), Some(&[1u8, 3][..]));
        let codes: Vec<u8> = m.options.iter().map(|(c, _)| c).collect();
        assert_eq!(codes.last(), Some(&82), "last, as RFC 3046 §2.1 asks");
        assert_eq!(agent_info(&with), Some(subs.clone()));
        // Replacing: one option 82 with the new value.
        let other = encode_suboptions(&[(1, b"eth2".to_vec())]);
        let again = with_agent_info(&with, &other, 576).unwrap();
        assert_eq!(agent_info(&again), Some(other));
        // Removed on the way back, the rest intact.
        let back = without_agent_info(&with);
        assert!(agent_info(&back).is_none());
        assert_eq!(
            v4::decode(&back).unwrap().options.get(55),
            Some(&[1u8, 3][..])
        );
        assert_eq!(&back[..240], &d[..240]);
        // Too long for the client's packet size: not added.
        assert!(with_agent_info(&d, &subs, 290).is_none());
    }
}
