//! The one data world the simulator serves: conversations with their message groups, agents,
//! departments and tags, generated from a seed and changed by [`Mutation`]s (tests, the bench,
//! `POST /_sim/mutate`). Each vendor's module under `simulator/` renders this world in its own
//! API's shape, so a test can compare what any connector loaded against one truth.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{ListOrder, SimConfig};

#[derive(Debug, Clone, Serialize)]
pub struct Department {
    pub id: String,
    pub name: String,
    pub online_status: String,
    pub deleted: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Tag {
    pub id: String,
    pub name: String,
    pub color: String,
    pub bg_color: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Agent {
    pub id: String,
    pub name: String,
    pub email: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Message {
    pub id: String,
    pub userid: String,
    pub rtype: String,
    pub created: DateTime<Utc>,
    pub body: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Group {
    pub id: String,
    pub userid: String,
    pub rtype: String,
    pub rstatus: String,
    pub created: DateTime<Utc>,
    pub finished: DateTime<Utc>,
    pub messages: Vec<Message>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Conversation {
    pub id: String,
    pub code: String,
    pub created: DateTime<Utc>,
    pub changed: DateTime<Utc>,
    pub due: Option<DateTime<Utc>>,
    pub department_id: String,
    pub status: String,
    pub owner_name: String,
    pub owner_email: String,
    pub owner_id: String,
    pub subject: String,
    pub public_url_code: String,
    pub tags: Vec<String>,
    pub channel: String,
    pub assigned_to: Option<String>,
    pub owner_note: Option<String>,
    /// Custom field values (code, value), served by the conversation details endpoint.
    pub custom_fields: Vec<(String, String)>,
    pub groups: Vec<Group>,
}

/// Group types that count as incoming / outgoing in `messagegroupsin/out`.
const INCOMING_GROUPS: &[&str] = &["3", "5", "M", "C", "P", "F", "W"];
const OUTGOING_GROUPS: &[&str] = &["4", "V"];

impl Conversation {
    pub fn messages_in(&self) -> usize {
        self.groups.iter().filter(|g| INCOMING_GROUPS.contains(&g.rtype.as_str())).count()
    }
    pub fn messages_out(&self) -> usize {
        self.groups.iter().filter(|g| OUTGOING_GROUPS.contains(&g.rtype.as_str())).count()
    }
    pub fn message_count(&self) -> usize {
        self.groups.iter().map(|g| g.messages.len()).sum()
    }
}

/// A change to apply to the data set (tests, `POST /_sim/mutate`, the benchmark).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Mutation {
    /// New conversations created now.
    pub new_conversations: usize,
    /// Existing conversations whose status changes (no new message).
    pub changed_conversations: usize,
    /// Existing conversations that get a reply (a new group with one message).
    pub new_messages: usize,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct MutationSummary {
    pub created: Vec<String>,
    pub status_changed: Vec<String>,
    pub replied: Vec<String>,
}

/// The world every simulated vendor serves: one set of conversations, agents and departments
/// (kept in the richest vocabulary, LiveAgent's codes for message and group types), which each
/// vendor's module renders in its own API's shape. What only one vendor has lives in
/// [`super::VendorData`].
pub struct World {
    pub departments: Vec<Department>,
    pub tags: Vec<Tag>,
    pub agents: Vec<Agent>,
    pub conversations: BTreeMap<String, Conversation>,
    rng: SmallRng,
    next_id: u64,
    /// After this many more conversation-list requests, touch `.1` conversations (move them to
    /// the end of a `ChangedAsc` listing). Lets tests change rows between page requests.
    pub touch_after_list_requests: Option<(u32, usize)>,
    /// Conversations whose messages endpoint answers with the documented 500 error.
    pub broken_messages: Vec<String>,
    /// Raw records served as-is at the end of every conversation listing (malformed input).
    pub extra_raw: Vec<Value>,
    /// What only one vendor serves (see [`super::VendorData`]).
    pub vendors: super::VendorData,
}

const SUBJECTS: &[&str] = &[
    "Cannot log in",
    "Invoice question",
    "Refund request",
    "Feature request: dark mode",
    "Order not delivered",
    "Objednávka nedorazila",
    "Problém s platbou kartou",
    "注文について",
    "Password reset link expired",
    "Upgrade to the business plan",
];
const NAMES: &[&str] = &[
    "John Owner",
    "Jane Smith",
    "Žofia Nováková",
    "Ľubomír Šťastný",
    "Müller Jürgen",
    "Анна Иванова",
    "山田 太郎",
    "O'Brien Patrick",
];
const BODIES: &[&str] = &[
    "Hello, I have a problem with my account.",
    "<p>Dear support,</p><p>my order <b>#4711</b> has not arrived yet.</p><br/>Thanks",
    "Dobrý deň, ďakujem za rýchlu odpoveď — všetko funguje. 😀",
    "<div dir=\"ltr\">Could you send me the invoice as PDF?<br><br>Regards</div>",
    "Спасибо, проблема решена.",
    "お問い合わせありがとうございます。確認いたします。",
    "Thanks for reaching out! I've reset your password; please try again & let us know.",
    "<table><tr><td>Plan</td><td>Business</td></tr></table>",
    // Bare newlines inside a post, one before a pasted line that looks like a transcript post:
    // LiveZilla separates posts with CRLF only, so this stays one message of its author.
    "Here is the log:\n| 01.02.2019 10:00:00 | System: job failed\nCan you help?",
];
const TAG_NAMES: &[&str] =
    &["VIP", "Support", "Billing", "Bug", "Feature", "Urgent", "Refund", "Churn risk", "Partner", "Spam"];
const DEPARTMENTS: &[(&str, &str)] =
    &[("Support", "TM"), ("Sales", "T"), ("Billing", "M"), ("Technical", "TPM"), ("Legacy", "")];

fn rand_id(rng: &mut SmallRng, len: usize) -> String {
    const ALPHA: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    (0..len).map(|_| ALPHA[rng.random_range(0..ALPHA.len())] as char).collect()
}

impl World {
    pub fn generate(cfg: &SimConfig) -> World {
        let mut rng = SmallRng::seed_from_u64(cfg.seed);
        let departments = DEPARTMENTS
            .iter()
            .enumerate()
            .map(|(i, (name, online))| Department {
                id: format!("d{}{}", i + 1, rand_id(&mut rng, 6)),
                name: name.to_string(),
                online_status: online.to_string(),
                deleted: *name == "Legacy",
            })
            .collect();
        let tags = TAG_NAMES
            .iter()
            .map(|n| Tag {
                id: rand_id(&mut rng, 4),
                name: n.to_string(),
                color: "FFFFFF".into(),
                bg_color: format!("{:06X}", rng.random_range(0..0xFFFFFFu32)),
            })
            .collect();
        let agents = (0..8)
            .map(|i| Agent {
                id: format!("ag{}", rand_id(&mut rng, 6)),
                name: format!("Agent {}", i + 1),
                email: format!("agent{}@example.com", i + 1),
            })
            .collect();
        let mut data = World {
            departments,
            tags,
            agents,
            conversations: BTreeMap::new(),
            rng,
            next_id: 1,
            touch_after_list_requests: None,
            broken_messages: Vec::new(),
            extra_raw: Vec::new(),
            vendors: super::VendorData::generate(cfg),
        };
        let end = cfg.history_end;
        let span = cfg.history_days.max(1) * 86_400;
        for _ in 0..cfg.conversations {
            let offset = data.rng.random_range(3_600..span);
            let created = end - Duration::seconds(offset);
            let c = data.new_conversation(created, end);
            data.conversations.insert(c.id.clone(), c);
        }
        super::VendorData::settle(&mut data);
        data
    }

    fn fresh_id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}{}{:05}", rand_id(&mut self.rng, 3), self.next_id)
    }

    fn body(&mut self) -> String {
        let r = self.rng.random_range(0..100);
        if r < 2 {
            // A long body (~24 KB).
            let para =
                "Lorem ipsum dolor sit amet, consectetur adipiscing elit — příliš žluťoučký kůň úpěl ďábelské ódy. ";
            para.repeat(240)
        } else {
            BODIES[self.rng.random_range(0..BODIES.len())].to_string()
        }
    }

    /// A conversation created at `created`, all of whose activity happens before `limit`.
    fn new_conversation(&mut self, created: DateTime<Utc>, limit: DateTime<Utc>) -> Conversation {
        let rng = &mut self.rng;
        let channel = ["E", "E", "E", "E", "E", "B", "B", "M", "C", "F", "T", "Q"][rng.random_range(0..12)].to_string();
        let owner_name = NAMES[rng.random_range(0..NAMES.len())].to_string();
        let owner_email = format!("customer{}@example.org", rng.random_range(1..5000));
        let owner_id = format!("cu{}", rand_id(rng, 6));
        let dept = rng.random_range(0..4);
        let department_id = self.departments[dept].id.clone();
        let ntags = rng.random_range(0..3);
        let tags: Vec<String> =
            (0..ntags).map(|_| self.tags[self.rng.random_range(0..self.tags.len())].id.clone()).collect();
        let mut tags_dedup = Vec::new();
        for t in tags {
            if !tags_dedup.contains(&t) {
                tags_dedup.push(t);
            }
        }
        let agent = self.agents[self.rng.random_range(0..self.agents.len())].id.clone();
        let status =
            ["R", "R", "R", "C", "C", "A", "A", "N", "W", "X", "B", "R"][self.rng.random_range(0..12)].to_string();
        let id = self.fresh_id("c");
        let code = format!(
            "{}-{}-{}",
            rand_id(&mut self.rng, 3).to_uppercase(),
            rand_id(&mut self.rng, 3).to_uppercase(),
            rand_id(&mut self.rng, 3).to_uppercase()
        );
        let public_url_code = rand_id(&mut self.rng, 16);
        let nmsg = self.rng.random_range(1..10usize);
        let mut t = created;
        let mut groups = Vec::new();
        let chat = matches!(channel.as_str(), "B" | "I");
        for i in 0..nmsg {
            let step = Duration::minutes(self.rng.random_range(1..600));
            if t + step < limit {
                t += step;
            }
            let from_customer = i % 2 == 0;
            let (grtype, userid) = if chat {
                ("C", if from_customer { owner_id.clone() } else { agent.clone() })
            } else if channel == "C" {
                (if from_customer { "P" } else { "V" }, if from_customer { owner_id.clone() } else { agent.clone() })
            } else if i > 0 && self.rng.random_range(0..8) == 0 {
                ("I", agent.clone())
            } else if from_customer {
                ("3", owner_id.clone())
            } else {
                ("4", agent.clone())
            };
            let mtype = match grtype {
                "I" => "N",
                "P" | "V" => "V",
                _ => "M",
            };
            let body = self.body();
            let mid = self.fresh_id("m");
            let gid = self.fresh_id("g");
            let mut messages = vec![Message { id: mid, userid: userid.clone(), rtype: mtype.into(), created: t, body }];
            if i == 0 {
                // A system line at the start of the first group, as LiveAgent writes them.
                messages.push(Message {
                    id: self.fresh_id("m"),
                    userid: "system00".into(),
                    rtype: "S".into(),
                    created: t,
                    body: format!("Conversation started via {channel}"),
                });
            }
            groups.push(Group {
                id: gid,
                userid,
                rtype: grtype.into(),
                rstatus: "V".into(),
                created: t,
                finished: t,
                messages,
            });
        }
        let due = (self.rng.random_range(0..3) == 0).then(|| created + Duration::hours(24));
        Conversation {
            id,
            code,
            created,
            changed: t,
            due,
            department_id,
            status,
            owner_name,
            owner_email,
            owner_id,
            subject: SUBJECTS[self.rng.random_range(0..SUBJECTS.len())].to_string(),
            public_url_code,
            tags: tags_dedup,
            channel,
            assigned_to: (self.rng.random_range(0..5) > 0).then_some(agent),
            owner_note: (self.rng.random_range(0..4) == 0).then(|| "VIP customer, answer within the hour".to_string()),
            custom_fields: {
                let mut f = vec![("order_id".to_string(), format!("{}", self.rng.random_range(10_000..99_999)))];
                if self.rng.random_range(0..2) == 0 {
                    f.push((
                        "plan".to_string(),
                        ["free", "business", "enterprise"][self.rng.random_range(0..3)].to_string(),
                    ));
                }
                f
            },
            groups,
        }
    }

    fn pick_existing(&mut self, n: usize) -> Vec<String> {
        let ids: Vec<String> = self.conversations.keys().cloned().collect();
        let mut out = Vec::new();
        while out.len() < n.min(ids.len()) {
            let id = ids[self.rng.random_range(0..ids.len())].clone();
            if !out.contains(&id) {
                out.push(id);
            }
        }
        out
    }

    /// Apply a mutation at time `now`; returns which conversations it touched.
    pub fn apply(&mut self, m: &Mutation, now: DateTime<Utc>) -> MutationSummary {
        let mut s = MutationSummary::default();
        for id in self.pick_existing(m.changed_conversations) {
            let next = ["C", "A", "R", "W", "X", "B"][self.rng.random_range(0..6)].to_string();
            let c = self.conversations.get_mut(&id).expect("picked");
            c.status = if c.status == next { "C".into() } else { next };
            c.changed = now;
            s.status_changed.push(id);
        }
        for id in self.pick_existing(m.new_messages) {
            let body = self.body();
            let mid = self.fresh_id("m");
            let gid = self.fresh_id("g");
            let c = self.conversations.get_mut(&id).expect("picked");
            let userid = c.owner_id.clone();
            c.groups.push(Group {
                id: gid,
                userid: userid.clone(),
                rtype: "3".into(),
                rstatus: "V".into(),
                created: now,
                finished: now,
                messages: vec![Message { id: mid, userid, rtype: "M".into(), created: now, body }],
            });
            c.status = "C".into();
            c.changed = now;
            s.replied.push(id);
        }
        for i in 0..m.new_conversations {
            let created = now - Duration::seconds(i as i64 % 60);
            let mut c = self.new_conversation(created, now);
            c.changed = now;
            s.created.push(c.id.clone());
            self.conversations.insert(c.id.clone(), c);
        }
        s
    }

    /// Mark `n` conversations as changed now (they move to the end of a `ChangedAsc` list).
    pub(super) fn touch_first(&mut self, order: ListOrder, n: usize) {
        let now = Utc::now();
        let ids: Vec<String> = self.ordered(order).into_iter().take(n).map(|c| c.id.clone()).collect();
        for id in ids {
            if let Some(c) = self.conversations.get_mut(&id) {
                c.changed = now;
            }
        }
    }

    pub fn ordered(&self, order: ListOrder) -> Vec<&Conversation> {
        let mut v: Vec<&Conversation> = self.conversations.values().collect();
        match order {
            ListOrder::ChangedAsc => v.sort_by(|a, b| a.changed.cmp(&b.changed).then(a.id.cmp(&b.id))),
            ListOrder::CreatedDesc => v.sort_by(|a, b| b.created.cmp(&a.created).then(b.id.cmp(&a.id))),
        }
        v
    }

    pub fn department_name(&self, id: &str) -> Option<&str> {
        self.departments.iter().find(|d| d.id == id).map(|d| d.name.as_str())
    }
}
