//! `noop`: a plugin that serves the hook points it is given and changes nothing. It
//! measures what the plugin path costs (the benchmark enables it) and lets an operator
//! check that a pipeline runs.

use serde::Deserialize;
use zerotouch_plugin::{
    Action, ClassSet, Context, HookPoint, HookResult, HookSet, HostChoice, LeaseEvent, LeaseInfo,
    LeaseOffer, Packet, Plugin, PluginError, Registration, Reply, Settings, SettingsError,
    SubnetChoice,
};

pub const REGISTRATION: Registration = Registration {
    name: "noop",
    summary: "serves hook points and changes nothing (overhead measurement)",
    create: Noop::create,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NoopSettings {
    /// Hook point names; all when absent.
    hooks: Option<Vec<String>>,
}

pub struct Noop {
    hooks: HookSet,
}

impl Noop {
    pub fn create(settings: &Settings) -> Result<Box<dyn Plugin>, SettingsError> {
        let s: NoopSettings = settings.parse()?;
        let hooks = match s.hooks {
            None => HookSet::all(),
            Some(names) => {
                let mut set = HookSet::EMPTY;
                for (i, n) in names.iter().enumerate() {
                    let Some(h) = HookPoint::all().find(|h| h.name() == n) else {
                        let all: Vec<&str> = HookPoint::all().map(HookPoint::name).collect();
                        return Err(settings.error(
                            format!("hooks[{i}]"),
                            format!("got {n:?}, expected one of {}", all.join(", ")),
                        ));
                    };
                    set = set.with(h);
                }
                set
            }
        };
        Ok(Box::new(Noop { hooks }))
    }
}

impl Plugin for Noop {
    fn hooks(&self) -> HookSet {
        self.hooks
    }
    fn packet_received(&self, _: &mut Context, _: &Packet<'_>) -> HookResult {
        Ok(Action::Continue)
    }
    fn classes_assigned(
        &self,
        _: &mut Context,
        _: &Packet<'_>,
        _: &mut ClassSet<'_>,
    ) -> HookResult {
        Ok(Action::Continue)
    }
    fn subnet_selected(
        &self,
        _: &mut Context,
        _: &Packet<'_>,
        _: &mut SubnetChoice<'_>,
    ) -> HookResult {
        Ok(Action::Continue)
    }
    fn host_looked_up(
        &self,
        _: &mut Context,
        _: &Packet<'_>,
        _: &mut HostChoice<'_>,
    ) -> HookResult {
        Ok(Action::Continue)
    }
    fn lease_chosen(&self, _: &mut Context, _: &Packet<'_>, _: &mut LeaseOffer) -> HookResult {
        Ok(Action::Continue)
    }
    fn reply_ready(&self, _: &mut Context, _: &Packet<'_>, _: &mut Reply) -> HookResult {
        Ok(Action::Continue)
    }
    fn lease_event(&self, _: LeaseEvent, _: &LeaseInfo) -> Result<(), PluginError> {
        Ok(())
    }
    fn reload(&self, settings: &Settings) -> Result<(), SettingsError> {
        // Hook sets are fixed at start; accept settings that parse.
        Noop::create(settings).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hook_names_are_checked() {
        let ok = Noop::create(&Settings::standalone("hooks = [\"reply_ready\"]", "n")).unwrap();
        assert_eq!(ok.hooks(), HookSet::EMPTY.with(HookPoint::ReplyReady));
        let Err(e) = Noop::create(&Settings::standalone(
            "hooks = [\"reply_ready\", \"nope\"]",
            "n",
        )) else {
            panic!("accepted an unknown hook");
        };
        assert_eq!(e.key, "hooks[1]");
        assert!(e.span.is_some());
    }
}
