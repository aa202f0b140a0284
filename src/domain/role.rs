//! Who may do what (leader, member, group admin, bot admin, anyone), as pure
//! functions. Which command needs whom is the command's own
//! (`command::CommandKind::who_may`); the check is [`may`].

/// A person's standing in the team bound to the group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TeamRole {
    Leader,
    Member,
}

impl TeamRole {
    pub fn as_str(self) -> &'static str {
        match self {
            TeamRole::Leader => "leader",
            TeamRole::Member => "member",
        }
    }

    pub fn from_db(s: &str) -> Option<TeamRole> {
        match s {
            "leader" => Some(TeamRole::Leader),
            "member" => Some(TeamRole::Member),
            _ => None,
        }
    }
}

/// Everything the permission check needs to know about the sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Actor {
    /// Role in the group's team, if any.
    pub role: Option<TeamRole>,
    /// A group admin of the chat platform (DingTalk `isAdmin`).
    pub group_admin: bool,
    /// Listed in the bot's `admins`: may use every command.
    pub admin: bool,
}

impl Actor {
    pub fn on_team(&self) -> bool {
        self.role.is_some()
    }
}

/// Who may use a command; the refusal reply names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhoMay {
    Anyone,
    Leader,
    /// The leader, or members when the township allows it.
    LeaderOrAllowedMembers,
    LeaderOrMember,
    /// The task's owner or the leader (checked again per task).
    OwnerOrLeader,
    /// Villagers: anyone not on the team.
    Villagers,
    GroupAdmin,
    GroupAdminOrLeader,
}

/// Township switches that change the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Policy {
    pub members_may_plan: bool,
}

/// Whether `actor` is among `who`. `Err` carries who may, for the refusal.
/// For owner-or-leader commands this admits anyone on the team; the task
/// check ([`may_touch_task`]) follows once the task is known.
pub fn may(actor: Actor, who: WhoMay, policy: Policy) -> Result<(), WhoMay> {
    if actor.admin {
        return Ok(());
    }
    let leader = actor.role == Some(TeamRole::Leader);
    let ok = match who {
        WhoMay::Anyone => true,
        WhoMay::Leader => leader,
        WhoMay::LeaderOrAllowedMembers => {
            leader || (policy.members_may_plan && actor.role == Some(TeamRole::Member))
        }
        WhoMay::LeaderOrMember | WhoMay::OwnerOrLeader => actor.on_team(),
        WhoMay::Villagers => !actor.on_team(),
        WhoMay::GroupAdmin => actor.group_admin,
        WhoMay::GroupAdminOrLeader => actor.group_admin || leader,
    };
    if ok { Ok(()) } else { Err(who) }
}

/// Most members a team may have: the admin API's roster cap, and the chat's.
pub const MAX_TEAM_MEMBERS: usize = 100;

/// Who asks to bind a group (绑定), as far as the rules care.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Binder {
    /// Listed in the bot's `admins`.
    pub bot_admin: bool,
    /// A group admin of the chat platform (DingTalk `isAdmin`).
    pub group_admin: bool,
    /// An admin of the township the group is to be bound in.
    pub admin_of_target: bool,
    /// An admin of the township the group is bound in now (`false` when unbound).
    pub admin_of_current: bool,
}

/// What a bind would change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BindChange {
    /// The township would be created.
    pub new_township: bool,
    /// The village would be created.
    pub new_village: bool,
    /// The group is bound to another team now.
    pub moves_group: bool,
    /// The team already has another group on the group's platform.
    pub team_has_group: bool,
}

/// Why a bind is refused; the reply names who may instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindRefusal {
    /// Neither a group admin nor any kind of admin.
    NotAllowed,
    /// Creating a township or a village by chat takes a bot admin.
    NewPlace,
    /// The team has a group already: its township's admins or a bot admin.
    TeamTaken,
    /// The group serves another team: admins of both townships or a bot admin.
    GroupBound,
}

/// Whether `who` may make `change` (PRODUCT.md, 绑定): a bot admin may do
/// anything; a township's admins bind and rebind within their township; a
/// group admin alone binds only a group that is not bound yet, to a team
/// with no group on that platform, in a township and village that exist.
pub fn may_bind(who: Binder, change: BindChange) -> Result<(), BindRefusal> {
    if who.bot_admin {
        return Ok(());
    }
    if !(who.group_admin || who.admin_of_target || who.admin_of_current) {
        return Err(BindRefusal::NotAllowed);
    }
    if change.new_township || change.new_village {
        return Err(BindRefusal::NewPlace);
    }
    if change.moves_group && !(who.admin_of_current && who.admin_of_target) {
        return Err(BindRefusal::GroupBound);
    }
    if change.team_has_group && !who.admin_of_target {
        return Err(BindRefusal::TeamTaken);
    }
    if who.group_admin || who.admin_of_target {
        Ok(())
    } else {
        Err(BindRefusal::NotAllowed)
    }
}

/// Whether `actor` may close or postpone a task owned by `owners`.
pub fn may_touch_task(actor: Actor, actor_id: i64, owners: &[i64]) -> bool {
    actor.admin || actor.role == Some(TeamRole::Leader) || owners.contains(&actor_id)
}

/// Who is who in the rules' tests (here, `domain::task`, the command table).
#[cfg(test)]
pub(crate) mod actors {
    use super::{Actor, TeamRole};

    const fn actor(role: Option<TeamRole>, group_admin: bool, admin: bool) -> Actor {
        Actor {
            role,
            group_admin,
            admin,
        }
    }

    pub const LEADER: Actor = actor(Some(TeamRole::Leader), false, false);
    pub const MEMBER: Actor = actor(Some(TeamRole::Member), false, false);
    pub const VILLAGER: Actor = actor(None, false, false);
    pub const GROUP_ADMIN: Actor = actor(None, true, false);
    /// A bot admin.
    pub const ADMIN: Actor = actor(None, false, true);
}

#[cfg(test)]
mod tests {
    use super::actors::*;
    use super::*;

    #[test]
    fn who_is_among_whom() {
        let strict = Policy::default();
        let allowed = Policy {
            members_may_plan: true,
        };
        // (actor, who, policy, allowed, why)
        let cases = [
            (VILLAGER, WhoMay::Anyone, strict, true, "anyone"),
            (
                MEMBER,
                WhoMay::Leader,
                strict,
                false,
                "a member is no leader",
            ),
            (LEADER, WhoMay::Leader, strict, true, "the leader"),
            (
                MEMBER,
                WhoMay::LeaderOrAllowedMembers,
                strict,
                false,
                "members not allowed",
            ),
            (
                MEMBER,
                WhoMay::LeaderOrAllowedMembers,
                allowed,
                true,
                "members allowed",
            ),
            (
                VILLAGER,
                WhoMay::LeaderOrAllowedMembers,
                allowed,
                false,
                "villagers never",
            ),
            (MEMBER, WhoMay::LeaderOrMember, strict, true, "on the team"),
            (
                VILLAGER,
                WhoMay::OwnerOrLeader,
                strict,
                false,
                "off the team",
            ),
            (
                MEMBER,
                WhoMay::OwnerOrLeader,
                strict,
                true,
                "owner checked per task",
            ),
            (VILLAGER, WhoMay::Villagers, strict, true, "off the team"),
            (
                LEADER,
                WhoMay::Villagers,
                strict,
                false,
                "the team does not rate itself",
            ),
            (
                GROUP_ADMIN,
                WhoMay::Villagers,
                strict,
                true,
                "a group admin off the team",
            ),
            (
                LEADER,
                WhoMay::GroupAdmin,
                strict,
                false,
                "a leader is no group admin",
            ),
            (
                GROUP_ADMIN,
                WhoMay::GroupAdminOrLeader,
                strict,
                true,
                "group admin",
            ),
            (LEADER, WhoMay::GroupAdminOrLeader, strict, true, "leader"),
            (
                ADMIN,
                WhoMay::GroupAdmin,
                strict,
                true,
                "admins may do anything",
            ),
            (
                ADMIN,
                WhoMay::Villagers,
                strict,
                true,
                "admins may do anything",
            ),
        ];
        for (actor, who, policy, allowed, why) in cases {
            assert_eq!(
                may(actor, who, policy).is_ok(),
                allowed,
                "{why}: {actor:?} {who:?}"
            );
        }
    }

    #[test]
    fn refusals_name_who_may() {
        let p = Policy::default();
        assert_eq!(may(MEMBER, WhoMay::Leader, p), Err(WhoMay::Leader));
        assert_eq!(
            may(VILLAGER, WhoMay::GroupAdmin, p),
            Err(WhoMay::GroupAdmin)
        );
        assert_eq!(may(MEMBER, WhoMay::Villagers, p), Err(WhoMay::Villagers));
    }

    #[test]
    fn who_may_bind_what() {
        use BindRefusal::*;
        let group_admin = Binder {
            group_admin: true,
            ..Binder::default()
        };
        let villager = Binder::default();
        let bot_admin = Binder {
            bot_admin: true,
            ..Binder::default()
        };
        let admin_here = Binder {
            admin_of_target: true,
            admin_of_current: true,
            ..Binder::default()
        };
        let admin_there = Binder {
            admin_of_target: true,
            ..Binder::default()
        };
        let admin_of_old = Binder {
            admin_of_current: true,
            group_admin: true,
            ..Binder::default()
        };
        let fresh = BindChange::default();
        let new_township = BindChange {
            new_township: true,
            new_village: true,
            ..fresh
        };
        let new_village = BindChange {
            new_village: true,
            ..fresh
        };
        let taken = BindChange {
            team_has_group: true,
            ..fresh
        };
        let moving = BindChange {
            moves_group: true,
            ..fresh
        };
        // (who, change, outcome, why)
        let cases = [
            (group_admin, fresh, Ok(()), "a new group to a free team"),
            (villager, fresh, Err(NotAllowed), "villagers never bind"),
            (
                group_admin,
                new_township,
                Err(NewPlace),
                "townships by chat: bot admins",
            ),
            (
                group_admin,
                new_village,
                Err(NewPlace),
                "villages by chat: bot admins",
            ),
            (
                admin_here,
                new_village,
                Err(NewPlace),
                "township admins use the API for villages",
            ),
            (
                group_admin,
                taken,
                Err(TeamTaken),
                "no hijacking a team with a group",
            ),
            (
                admin_there,
                taken,
                Ok(()),
                "the township's admin may rebind its team",
            ),
            (
                group_admin,
                moving,
                Err(GroupBound),
                "no moving a bound group",
            ),
            (admin_here, moving, Ok(()), "within the admin's township"),
            (
                admin_there,
                moving,
                Err(GroupBound),
                "out of another township",
            ),
            (
                admin_of_old,
                moving,
                Err(GroupBound),
                "into another township",
            ),
            (
                admin_there,
                fresh,
                Ok(()),
                "a township admin need not be a group admin",
            ),
            (bot_admin, new_township, Ok(()), "bot admins create"),
            (
                bot_admin,
                BindChange {
                    moves_group: true,
                    team_has_group: true,
                    ..new_township
                },
                Ok(()),
                "bot admins do anything",
            ),
        ];
        for (who, change, outcome, why) in cases {
            assert_eq!(may_bind(who, change), outcome, "{why}: {who:?} {change:?}");
        }
    }

    #[test]
    fn task_owner_or_leader() {
        assert!(may_touch_task(MEMBER, 7, &[7, 8]));
        assert!(!may_touch_task(MEMBER, 9, &[7, 8]));
        assert!(may_touch_task(LEADER, 9, &[7]));
        assert!(may_touch_task(ADMIN, 9, &[]));
    }
}
