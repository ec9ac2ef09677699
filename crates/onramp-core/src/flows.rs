//! The use cases on onboarding flows: create, list, get, update and delete, each authorized here for every
//! surface (`onboarding:read`, `onboarding:write`). A flow's assignRoles steps may name only roles the
//! caller may grant, and its approvers must be live users of the tenant. The built-in minimal flow leads
//! the list and cannot change; a flow in use cannot be deleted (the store refuses it).

use onramp_domain::onboarding::{Flow, MINIMAL_FLOW_ID, StepKind};
use onramp_domain::{Id, Permission, Timestamp};
use onramp_store::StoreError;

use crate::error::{Code, CoreError, CoreResult};
use crate::{Core, Principal};

fn flow_error(id: &Id) -> impl FnOnce(StoreError) -> CoreError + '_ {
    move |error| match error {
        StoreError::NotFound => CoreError::not_found(format!("onboarding flow {id}")),
        other => other.into(),
    }
}

/// Refuses roles in assignRoles steps that the caller may not grant.
fn check_grants(caller: &Principal, flow: &Flow) -> CoreResult<()> {
    for (index, step) in flow.steps.iter().enumerate() {
        if let StepKind::AssignRoles { role_ids } = &step.kind {
            caller.require_grantable(&format!("steps[{index}].assignRoles.roleIds"), role_ids)?;
        }
    }
    Ok(())
}

impl Core {
    /// Refuses a flow whose assignRoles steps name a role the caller may not grant (`field` names the input
    /// that chose it). Whoever chooses the flow an onboard runs (an invitation's, a directory's default, an
    /// onboard's) must be able to grant its roles, because the onboard then completes by itself
    /// (`onboards::finish_if_done`) on that authority. An unknown flow passes: the writing transaction
    /// refuses it, naming the field.
    pub(crate) async fn require_flow_grantable(
        &self,
        caller: &Principal,
        flow_id: Option<Id>,
        field: &str,
    ) -> CoreResult<()> {
        let Some(flow_id) = flow_id.filter(|id| *id != MINIMAL_FLOW_ID) else { return Ok(()) };
        let flow = match self.store.get_flow(&caller.tenant_id, &flow_id).await {
            Ok(flow) => flow,
            Err(StoreError::NotFound) => return Ok(()),
            Err(error) => return Err(error.into()),
        };
        for step in &flow.steps {
            if let StepKind::AssignRoles { role_ids } = &step.kind {
                caller.require_grantable(&format!("{field} (its step {:?})", step.key), role_ids)?;
            }
        }
        Ok(())
    }

    /// Refuses an approver that is not a live user of the tenant.
    async fn check_approvers(&self, tenant_id: &Id, flow: &Flow) -> CoreResult<()> {
        for (index, step) in flow.steps.iter().enumerate() {
            if let StepKind::ManagerApproval { approver_user_id: Some(approver) } = &step.kind {
                let live = self.store.get_user(tenant_id, approver).await.ok().filter(|user| user.deleted_at.is_none());
                if live.is_none() {
                    return Err(CoreError::invalid_field(
                        &format!("steps[{index}].managerApproval.approverUserId"),
                        format!("user {approver} not found"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Creates the flow `make` fills in from an empty flow of the caller's tenant.
    pub async fn create_flow(
        &self,
        caller: &Principal,
        make: impl FnOnce(&mut Flow) -> CoreResult<()>,
    ) -> CoreResult<Flow> {
        caller.require(Permission::OnboardingWrite)?;
        let now = Timestamp::now();
        let mut flow = Flow {
            id: Id::new(),
            tenant_id: caller.tenant_id,
            display_name: String::new(),
            description: String::new(),
            steps: Vec::new(),
            builtin: false,
            created_at: now,
            updated_at: now,
        };
        make(&mut flow)?;
        check_grants(caller, &flow)?;
        self.check_approvers(&caller.tenant_id, &flow).await?;
        self.write(self.store.create_flow(&caller.actor(), &flow)).await?;
        Ok(flow)
    }

    /// The tenant's flows in id order after `after`, at most `limit`: the first page starts with the
    /// minimal flow, whose id sorts before every generated id.
    pub async fn list_flows(&self, caller: &Principal, after: Option<&Id>, limit: u32) -> CoreResult<Vec<Flow>> {
        caller.require(Permission::OnboardingRead)?;
        let mut flows = Vec::new();
        if after.is_none() {
            flows.push(Flow::minimal(caller.tenant_id));
        }
        let fetch = limit.saturating_sub(flows.len() as u32);
        flows.extend(self.store.list_flows(&caller.tenant_id, after, fetch).await?);
        Ok(flows)
    }

    pub async fn get_flow(&self, caller: &Principal, id: &Id) -> CoreResult<Flow> {
        caller.require(Permission::OnboardingRead)?;
        self.store.get_flow(&caller.tenant_id, id).await.map_err(flow_error(id))
    }

    /// Changes the flow `id` by `change`; the minimal flow cannot change. A change that changes nothing
    /// writes nothing; a concurrent change is ABORTED.
    pub async fn update_flow(
        &self,
        caller: &Principal,
        id: &Id,
        change: impl FnOnce(&mut Flow) -> CoreResult<()>,
    ) -> CoreResult<Flow> {
        caller.require(Permission::OnboardingWrite)?;
        if *id == MINIMAL_FLOW_ID {
            return Err(CoreError::new(Code::FailedPrecondition, "the minimal flow is built in and cannot change"));
        }
        let before = self.store.get_flow(&caller.tenant_id, id).await.map_err(flow_error(id))?;
        let mut after = before.clone();
        change(&mut after)?;
        check_grants(caller, &after)?;
        self.check_approvers(&caller.tenant_id, &after).await?;
        if after == before {
            return Ok(before);
        }
        self.write(self.store.update_flow(&caller.actor(), &before, &after)).await.map_err(|error| match error {
            StoreError::Conflict { .. } => {
                CoreError::new(Code::Aborted, "the flow changed while this update ran; read it again and retry")
            }
            other => flow_error(id)(other),
        })
    }

    pub async fn delete_flow(&self, caller: &Principal, id: &Id) -> CoreResult<()> {
        caller.require(Permission::OnboardingWrite)?;
        self.write(self.store.delete_flow(&caller.actor(), id)).await.map_err(flow_error(id))?;
        Ok(())
    }
}
