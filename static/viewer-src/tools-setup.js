// One tool group per viewer: which mouse button does what, and switching the left-button tool.
import * as csTools from '@cornerstonejs/tools';

const { ToolGroupManager, CrosshairsTool, WindowLevelTool, PanTool, ZoomTool, StackScrollTool, addTool, state } =
  csTools;
const { MouseBindings } = csTools.Enums;

export const TOOL_NAMES = {
  Crosshairs: CrosshairsTool.toolName,
  WindowLevel: WindowLevelTool.toolName,
  Pan: PanTool.toolName,
  Zoom: ZoomTool.toolName,
};

function ensureAdded(tool) {
  // addTool is global; a page embedding two viewers must not add a tool twice.
  if (!state.tools?.[tool.toolName]) addTool(tool);
}

let groupCounter = 0;

/**
 * Tools for viewports: wheel scrolls, right drag zooms, middle drag pans, the left button runs the
 * chosen tool. Crosshairs only where `crosshairs` is true (volume MPR).
 */
export function createToolGroup({ renderingEngineId, viewportIds, crosshairs, colors = {} }) {
  [WindowLevelTool, PanTool, ZoomTool, StackScrollTool].forEach(ensureAdded);
  if (crosshairs) ensureAdded(CrosshairsTool);
  groupCounter += 1;
  const group = ToolGroupManager.createToolGroup(`rs-tools-${groupCounter}`);
  group.addTool(WindowLevelTool.toolName);
  group.addTool(PanTool.toolName);
  group.addTool(ZoomTool.toolName);
  group.addTool(StackScrollTool.toolName);
  if (crosshairs) {
    group.addTool(CrosshairsTool.toolName, {
      getReferenceLineColor: (id) => colors[id] || 'rgb(255, 255, 0)',
      getReferenceLineControllable: () => true,
      // Must be true for dragging too (the tool ties both together); slab handles stay off.
      getReferenceLineDraggableRotatable: () => true,
      getReferenceLineSlabThicknessControlsOn: () => false,
    });
  }
  for (const id of viewportIds) group.addViewport(id, renderingEngineId);
  group.setToolActive(StackScrollTool.toolName, { bindings: [{ mouseButton: MouseBindings.Wheel }] });
  group.setToolActive(ZoomTool.toolName, { bindings: [{ mouseButton: MouseBindings.Secondary }] });
  group.setToolActive(PanTool.toolName, { bindings: [{ mouseButton: MouseBindings.Auxiliary }] });
  let primary = null;
  return {
    group,
    setPrimary(tool) {
      const name = TOOL_NAMES[tool];
      if (!name || (tool === 'Crosshairs' && !crosshairs)) return primary;
      if (primary && primary !== tool) group.setToolPassive(TOOL_NAMES[primary]);
      group.setToolActive(name, { bindings: [{ mouseButton: MouseBindings.Primary }] });
      primary = tool;
      return primary;
    },
    get primary() {
      return primary;
    },
    crosshairsTool() {
      return crosshairs ? group.getToolInstance(CrosshairsTool.toolName) : null;
    },
  };
}
