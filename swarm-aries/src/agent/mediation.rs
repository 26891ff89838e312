//! coordinate-mediation 1.0, as the recipient: mediate-request, keylist-update and
//! keylist-query.

use serde_json::{json, Value};

use super::{Agent, AriesError};
use crate::message;

/// A mediation grant: where others send messages for this agent, and through which keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The mediator's endpoint.
    pub endpoint: String,
    /// The mediator's routing keys (base58).
    pub routing_keys: Vec<String>,
}

impl Agent {
    /// Ask the peer to mediate for this agent, and register this agent's key.
    pub async fn request_mediation(&mut self) -> Result<Grant, AriesError> {
        let req = json!({
            "@type": "https://didcomm.org/coordinate-mediation/1.0/mediate-request",
            "@id": message::new_id(),
        });
        let reply = self
            .request(req, |t| {
                t.family() == "coordinate-mediation" && t.name() != "mediate-request"
            })
            .await?;
        let t = message::message_type(&reply.message)
            .map_err(|e| AriesError::Protocol(e.to_string()))?;
        if t.name() != "mediate-grant" {
            return Err(AriesError::Protocol(format!(
                "mediation not granted: {}",
                reply.message
            )));
        }
        let endpoint = reply.message["endpoint"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let routing_keys = reply.message["routing_keys"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(|k| crate::Verkey::parse(k).map(|v| v.to_base58()))
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?
            .unwrap_or_default();
        let grant = Grant {
            endpoint,
            routing_keys,
        };
        let update = json!({
            "@type": "https://didcomm.org/coordinate-mediation/1.0/keylist-update",
            "@id": message::new_id(),
            "updates": [{"recipient_key": self.key.did_key(), "action": "add"}],
        });
        let reply = self
            .request(update, |t| t.name() == "keylist-update-response")
            .await?;
        let ok = reply.message["updated"]
            .as_array()
            .is_some_and(|u| u.iter().any(|x| x["result"] == "success"));
        if !ok {
            return Err(AriesError::Protocol(format!(
                "keylist update failed: {}",
                reply.message
            )));
        }
        self.grant = Some(grant.clone());
        Ok(grant)
    }

    /// coordinate-mediation 1.0 `keylist-query`: the recipient keys the mediator holds for
    /// this agent, as it writes them (`did:key` or base58), at most `limit` from `offset`.
    /// ACA-Py answers it; Credo 0.5's mediator has no handler for it (a time-out).
    pub async fn keylist_query(
        &mut self,
        limit: usize,
        offset: usize,
    ) -> Result<Vec<String>, AriesError> {
        let query = json!({
            "@type": "https://didcomm.org/coordinate-mediation/1.0/keylist-query",
            "@id": message::new_id(),
            "paginate": {"limit": limit, "offset": offset},
        });
        let reply = self
            .request(query, |t| {
                t.family() == "coordinate-mediation" && t.name() == "keylist"
            })
            .await?;
        let keys = reply.message["keys"].as_array().ok_or_else(|| {
            AriesError::Protocol(format!("a keylist without keys: {}", reply.message))
        })?;
        Ok(keys
            .iter()
            .filter_map(|k| k["recipient_key"].as_str().map(str::to_owned))
            .collect())
    }
}
