//! A service over a fresh SQLite database, for the unit tests beside the
//! service code: two townships with a village and a team each, and a token
//! for each township's clerk.

use std::sync::{Arc, RwLock};

use chrono::{TimeZone, Utc};

use super::org::{NewTeam, NewToken, NewTownship, NewVillage};
use super::{Admin, Principal};
use crate::clock::FixedClock;
use crate::config::{Secret, Settings};
use crate::domain::calendar::HolidayCalendar;
use crate::jobs::JobCtx;
use crate::outbox::QuietHours;
use crate::store::Db;

/// The city admin's token in these tests.
pub const CITY_TOKEN: &str = "city-token-for-the-service-tests-0123456789";

/// One township's rows, and its clerk.
pub struct Town {
    pub township: i64,
    pub village: i64,
    pub team: i64,
    pub clerk: Principal,
}

/// The service, its database's directory (dropped with it), and two
/// townships.
pub struct World {
    pub admin: Admin,
    pub a: Town,
    pub b: Town,
    _dir: tempfile::TempDir,
}

/// A service on a new database, clock at 2026-12-07 10:00 (Shanghai).
pub async fn world() -> World {
    let dir = tempfile::tempdir().expect("a temp dir");
    let db = Db::connect(&format!("sqlite://{}", dir.path().join("t.db").display()))
        .await
        .expect("the database opens");
    db.migrate().await.expect("migrations run");
    let mut settings = Settings::from_toml_overrides("").expect("the test settings load");
    settings.admin_token = Some(Secret::new(CITY_TOKEN));
    let default_tz = chrono_tz::Asia::Shanghai;
    let jobs = JobCtx {
        db,
        settings: Arc::new(settings),
        default_tz,
        calendar: Arc::new(RwLock::new(HolidayCalendar::default())),
        quiet: QuietHours::default(),
    };
    let now = Utc
        .with_ymd_and_hms(2026, 12, 7, 2, 0, 0)
        .single()
        .expect("a time");
    let admin = Admin::new(jobs, Arc::new(FixedClock::at(now)));
    let a = town(&admin, "凤林镇").await;
    let b = town(&admin, "白沙镇").await;
    World {
        admin,
        a,
        b,
        _dir: dir,
    }
}

async fn town(admin: &Admin, name: &str) -> Town {
    let city = Principal::City;
    let township = admin
        .create_township(
            city,
            NewTownship {
                name: name.to_string(),
                timezone: None,
                members_may_plan: false,
                red_days: None,
                orange_days: None,
                yellow_days: None,
                green_days: None,
            },
        )
        .await
        .expect("the township is created")
        .id;
    let village = admin
        .create_village(
            city,
            NewVillage {
                township_id: township,
                name: "下姜村".to_string(),
            },
        )
        .await
        .expect("the village is created")
        .id;
    let team = admin
        .create_team(
            city,
            NewTeam {
                village_id: village,
                name: "一组".to_string(),
            },
        )
        .await
        .expect("the team is created")
        .id;
    let issued = admin
        .issue_token(
            city,
            NewToken {
                township_id: township,
                name: format!("{name}组织办"),
            },
        )
        .await
        .expect("the token is issued");
    let clerk = admin
        .authenticate(&issued.token)
        .await
        .expect("the token authenticates");
    Town {
        township,
        village,
        team,
        clerk,
    }
}
