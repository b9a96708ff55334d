//! `noop`: a plugin that serves the hook points it is given and changes nothing. It
//! measures what the plugin path costs (the benchmark enables it) and lets an operator
//! check that a pipeline runs. In a scope, `wait_ms` parks that scope's packets for a
//! while at `classes_assigned`, as a plugin waiting on a slow backend would: a way to
//! see that one slow plugin does not hold up other clients.

use std::time::Duration;

use serde::Deserialize;
use zerotouch_plugin::{
    Action, ClassSet, Cx, Family, HookPoint, HookResult, HookSet, HostChoice, LeaseEvent,
    LeaseInfo, LeaseOffer, Packet4, Packet6, Plugin, PluginError, Registration, Reply4, Reply6,
    Settings, SettingsError, SubnetChoice,
};

pub const REGISTRATION: Registration = Registration::of::<Noop>(
    "noop",
    "serves hook points and changes nothing (overhead measurement)",
);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NoopSettings {
    /// Hook point names (`reply_ready` for both families, `reply_ready4` for one);
    /// all when absent.
    hooks: Option<Vec<String>>,
}

pub struct Noop {
    hooks: HookSet,
}

/// `plugin.<instance>` settings in a scope of the server's configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoopScope {
    /// Parks each packet of the scope this many milliseconds at `classes_assigned`.
    wait_ms: u64,
}

impl Noop {
    /// At `classes_assigned`: parks the packet for the scope's `wait_ms`, once.
    fn pause<R>(&self, cx: &Cx<'_, Self>) -> HookResult<R> {
        let Some(ms) = cx.scope().map(|s| s.wait_ms).filter(|ms| *ms > 0) else {
            return Ok(Action::Continue);
        };
        match cx.awaited::<()>() {
            Some(waited) => waited.map(|()| Action::Continue),
            None => Ok(Action::wait(async move {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                Ok(())
            })),
        }
    }
}

/// The hook points a name stands for: `reply_ready` both families', `reply_ready4`
/// DHCPv4's.
fn named(name: &str) -> Option<HookSet> {
    let (base, family) = match name.as_bytes().last() {
        Some(b'4') => (&name[..name.len() - 1], Some(Family::V4)),
        Some(b'6') => (&name[..name.len() - 1], Some(Family::V6)),
        _ => (name, None),
    };
    let hook = HookPoint::all().find(|h| h.name() == base)?;
    Some(match family {
        Some(f) if !hook.is_lease_event() => HookSet::EMPTY.with(f, hook),
        Some(_) => return None,
        None => HookSet::both(hook),
    })
}

#[zerotouch_plugin::plugin]
impl Plugin for Noop {
    type Scope = NoopScope;

    fn create(settings: &Settings) -> Result<Self, SettingsError> {
        let s: NoopSettings = settings.parse()?;
        let hooks = match s.hooks {
            None => HookSet::all(),
            Some(names) => {
                let mut set = HookSet::EMPTY;
                for (i, n) in names.iter().enumerate() {
                    let Some(h) = named(n) else {
                        let all: Vec<&str> = HookPoint::all().map(HookPoint::name).collect();
                        return Err(settings.error(
                            format!("hooks[{i}]"),
                            format!(
                                "got {n:?}, expected one of {} (a packet hook may end in 4 or 6 for one family)",
                                all.join(", ")
                            ),
                        ));
                    };
                    set = set.union(h);
                }
                set
            }
        };
        Ok(Noop { hooks })
    }

    fn serves(&self) -> HookSet {
        self.hooks
    }

    fn reload(&self, settings: &Settings) -> Result<(), SettingsError> {
        // Hook sets are fixed at start; accept settings that parse.
        Noop::create(settings).map(|_| ())
    }

    fn packet_received4(&self, _: &mut Cx<'_, Self>, _: &Packet4<'_>) -> HookResult<Reply4> {
        Ok(Action::Continue)
    }
    fn classes_assigned4(
        &self,
        cx: &mut Cx<'_, Self>,
        _: &Packet4<'_>,
        _: &mut ClassSet<'_>,
    ) -> HookResult<Reply4> {
        self.pause(cx)
    }
    fn subnet_selected4(
        &self,
        _: &mut Cx<'_, Self>,
        _: &Packet4<'_>,
        _: &mut SubnetChoice<'_>,
    ) -> HookResult<Reply4> {
        Ok(Action::Continue)
    }
    fn host_looked_up4(
        &self,
        _: &mut Cx<'_, Self>,
        _: &Packet4<'_>,
        _: &mut HostChoice<'_>,
    ) -> HookResult<Reply4> {
        Ok(Action::Continue)
    }
    fn lease_chosen4(
        &self,
        _: &mut Cx<'_, Self>,
        _: &Packet4<'_>,
        _: &mut LeaseOffer,
    ) -> HookResult<Reply4> {
        Ok(Action::Continue)
    }
    fn reply_ready4(
        &self,
        _: &mut Cx<'_, Self>,
        _: &Packet4<'_>,
        _: &mut Reply4,
    ) -> HookResult<Reply4> {
        Ok(Action::Continue)
    }
    fn packet_received6(&self, _: &mut Cx<'_, Self>, _: &Packet6<'_>) -> HookResult<Reply6> {
        Ok(Action::Continue)
    }
    fn classes_assigned6(
        &self,
        cx: &mut Cx<'_, Self>,
        _: &Packet6<'_>,
        _: &mut ClassSet<'_>,
    ) -> HookResult<Reply6> {
        self.pause(cx)
    }
    fn subnet_selected6(
        &self,
        _: &mut Cx<'_, Self>,
        _: &Packet6<'_>,
        _: &mut SubnetChoice<'_>,
    ) -> HookResult<Reply6> {
        Ok(Action::Continue)
    }
    fn host_looked_up6(
        &self,
        _: &mut Cx<'_, Self>,
        _: &Packet6<'_>,
        _: &mut HostChoice<'_>,
    ) -> HookResult<Reply6> {
        Ok(Action::Continue)
    }
    fn lease_chosen6(
        &self,
        _: &mut Cx<'_, Self>,
        _: &Packet6<'_>,
        _: &mut LeaseOffer,
    ) -> HookResult<Reply6> {
        Ok(Action::Continue)
    }
    fn reply_ready6(
        &self,
        _: &mut Cx<'_, Self>,
        _: &Packet6<'_>,
        _: &mut Reply6,
    ) -> HookResult<Reply6> {
        Ok(Action::Continue)
    }
    fn lease_event(&self, _: LeaseEvent, _: &LeaseInfo) -> Result<(), PluginError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hook_names_are_checked() {
        let ok = Noop::create(&Settings::standalone("hooks = [\"reply_ready\"]", "n")).unwrap();
        assert_eq!(ok.serves(), HookSet::both(HookPoint::ReplyReady));
        let one =
            Noop::create(&Settings::standalone("hooks = [\"packet_received6\"]", "n")).unwrap();
        assert_eq!(
            one.serves(),
            HookSet::EMPTY.with(Family::V6, HookPoint::PacketReceived)
        );
        let Err(e) = Noop::create(&Settings::standalone(
            "hooks = [\"reply_ready\", \"nope\"]",
            "n",
        )) else {
            panic!("accepted an unknown hook");
        };
        assert_eq!(e.key, "hooks[1]");
        assert!(e.span.is_some());
        // Every hook is implemented, so the macro's set is every hook.
        assert_eq!(Noop::HOOKS, HookSet::all());
    }
}
