-- Argo CD's health.lua contract: the object is `obj`; return {status=..., message=...}
local hs = {status = "Progressing", message = "waiting for the gadget"}
if obj.status ~= nil and obj.status.conditions ~= nil then
  for _, condition in ipairs(obj.status.conditions) do
    if condition.type == "Built" and condition.status == "True" then
      hs.status = "Healthy"
      hs.message = "built"
    elseif condition.type == "Built" and condition.status == "False" then
      hs.status = "Degraded"
      hs.message = condition.message
    end
  end
end
return hs
