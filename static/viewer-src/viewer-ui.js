// DOM pieces shared by both viewers: toolbar, per-viewport overlays, loading bar, error box, help.
import { utilities } from '@cornerstonejs/core';

// Window/level presets (width, level) in HU, the conventions OHIF and radiologists use.
export const PRESETS = {
  lung: { label: 'Lung', key: '1', width: 1500, level: -600 },
  mediastinum: { label: 'Mediastinum', key: '2', width: 350, level: 40 },
  soft: { label: 'Soft tissue', key: '3', width: 400, level: 40 },
  bone: { label: 'Bone', key: '4', width: 2500, level: 480 },
};

export const TOOL_KEYS = { c: 'Crosshairs', w: 'WindowLevel', p: 'Pan', z: 'Zoom' };

const LETTERS = [
  ['R', 'L'],
  ['A', 'P'],
  ['I', 'S'],
];

/** Patient direction letter(s) for an LPS vector: the dominant axis, plus a second if oblique. */
export function directionLabel(vector) {
  const ranked = [0, 1, 2]
    .map((axis) => ({ axis, size: Math.abs(vector[axis]) }))
    .sort((a, b) => b.size - a.size);
  const norm = Math.hypot(...vector) || 1;
  let label = '';
  for (const { axis, size } of ranked) {
    if (size / norm < 0.3) break;
    label += LETTERS[axis][vector[axis] > 0 ? 1 : 0];
  }
  return label;
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

export function buildViewportBox(grid, { id, title }) {
  const box = el('div', 'rs-vp');
  box.dataset.viewport = id;
  const element = el('div', 'rs-vp-canvas');
  element.oncontextmenu = (e) => e.preventDefault();
  box.append(element);
  const overlay = el('div', 'rs-vp-overlay');
  const topLeft = el('div', 'rs-tl');
  const name = el('div', 'rs-plane', title);
  const slice = el('div', 'rs-slice', '');
  topLeft.append(name, slice);
  const bottomLeft = el('div', 'rs-bl', '');
  const bottomRight = el('div', 'rs-br', '');
  const marks = {};
  for (const side of ['top', 'bottom', 'left', 'right']) {
    marks[side] = el('div', `rs-orient rs-orient-${side}`, '');
    overlay.append(marks[side]);
  }
  overlay.append(topLeft, bottomLeft, bottomRight);
  box.append(overlay);
  grid.append(box);
  return { box, element, slice, wl: bottomLeft, info: bottomRight, marks };
}

/** Screen directions of a viewport in patient space, read from the camera through canvasToWorld. */
export function updateOrientationMarks(viewport, marks) {
  const canvas = viewport.getCanvas();
  const w = canvas.clientWidth;
  const h = canvas.clientHeight;
  if (!w || !h) return;
  const c = viewport.canvasToWorld([w / 2, h / 2]);
  const right = viewport.canvasToWorld([w / 2 + 10, h / 2]).map((v, i) => v - c[i]);
  const down = viewport.canvasToWorld([w / 2, h / 2 + 10]).map((v, i) => v - c[i]);
  marks.right.textContent = directionLabel(right);
  marks.left.textContent = directionLabel(right.map((v) => -v));
  marks.bottom.textContent = directionLabel(down);
  marks.top.textContent = directionLabel(down.map((v) => -v));
}

export function windowLevelText(viewport) {
  const { voiRange } = viewport.getProperties() || {};
  if (!voiRange) return '';
  const { windowWidth, windowCenter } = utilities.windowLevel.toWindowLevel(voiRange.lower, voiRange.upper);
  return `W ${Math.round(windowWidth)}  L ${Math.round(windowCenter)}`;
}

export function buildToolbar(container, { tools, onPreset, onTool, onReset, showPresets = true }) {
  const bar = el('div', 'rs-toolbar');
  const buttons = { presets: {}, tools: {} };
  if (showPresets) {
    const group = el('div', 'rs-group');
    group.append(el('span', 'rs-group-label', 'W/L'));
    for (const [name, preset] of Object.entries(PRESETS)) {
      const b = el('button', 'rs-btn', `${preset.label}`);
      b.title = `${preset.label}: W ${preset.width} / L ${preset.level} (key ${preset.key})`;
      b.append(el('kbd', '', preset.key));
      b.dataset.preset = name;
      b.onclick = () => onPreset(name);
      buttons.presets[name] = b;
      group.append(b);
    }
    bar.append(group);
  }
  const toolGroup = el('div', 'rs-group');
  toolGroup.append(el('span', 'rs-group-label', 'Left mouse'));
  for (const [key, tool] of Object.entries(TOOL_KEYS)) {
    if (!tools.includes(tool)) continue;
    const label = { Crosshairs: 'Crosshairs', WindowLevel: 'Window/level', Pan: 'Pan', Zoom: 'Zoom' }[tool];
    const b = el('button', 'rs-btn', label);
    b.append(el('kbd', '', key.toUpperCase()));
    b.dataset.tool = tool;
    b.onclick = () => onTool(tool);
    buttons.tools[tool] = b;
    toolGroup.append(b);
  }
  bar.append(toolGroup);
  const reset = el('button', 'rs-btn', 'Reset');
  reset.append(el('kbd', '', 'R'));
  reset.onclick = onReset;
  const help = el('button', 'rs-btn rs-help-btn', 'Keys');
  help.append(el('kbd', '', '?'));
  help.onclick = () => toggleHelp(container);
  bar.append(reset, help);
  const status = el('div', 'rs-status', '');
  bar.append(status);
  container.append(bar);
  return { bar, buttons, status };
}

export function markActive(buttons, { tool, preset }) {
  if (tool !== undefined) {
    for (const [name, b] of Object.entries(buttons.tools)) b.classList.toggle('active', name === tool);
  }
  if (preset !== undefined) {
    for (const [name, b] of Object.entries(buttons.presets)) b.classList.toggle('active', name === preset);
  }
}

export function toggleHelp(container, force) {
  let help = container.querySelector('.rs-help');
  if (!help) {
    help = el('div', 'rs-help');
    help.innerHTML = `<h3>Keyboard and mouse</h3><table>
      <tr><td><kbd>1</kbd>–<kbd>4</kbd></td><td>Lung, mediastinum, soft tissue, bone window</td></tr>
      <tr><td><kbd>C</kbd> <kbd>W</kbd> <kbd>P</kbd> <kbd>Z</kbd></td><td>Left mouse: crosshairs, window/level, pan, zoom</td></tr>
      <tr><td>Wheel, <kbd>↑</kbd> <kbd>↓</kbd>, <kbd>PgUp</kbd> <kbd>PgDn</kbd></td><td>Scroll slices (viewport under the mouse)</td></tr>
      <tr><td>Right drag / middle drag</td><td>Zoom / pan</td></tr>
      <tr><td><kbd>R</kbd></td><td>Reset views and window</td></tr>
      <tr><td><kbd>?</kbd> / <kbd>Esc</kbd></td><td>Show / hide this help</td></tr></table>`;
    help.hidden = true;
    container.append(help);
  }
  help.hidden = force === undefined ? !help.hidden : !force;
}

export function buildLoading(container) {
  const box = el('div', 'rs-loading');
  const text = el('div', 'rs-loading-text', 'Reading series metadata…');
  const bar = el('div', 'rs-loading-bar');
  const fill = el('div', 'rs-loading-fill');
  bar.append(fill);
  box.append(text, bar);
  container.append(box);
  return {
    set(done, total, label = 'Loading images') {
      const pct = total ? Math.round((100 * done) / total) : 0;
      text.textContent = `${label} ${done}/${total} (${pct}%)`;
      fill.style.width = `${pct}%`;
      box.dataset.progress = String(pct);
    },
    message(message) {
      text.textContent = message;
    },
    done() {
      box.hidden = true;
    },
  };
}

export function showError(container, message) {
  const box = el('div', 'rs-error');
  box.setAttribute('role', 'alert');
  box.append(el('strong', '', 'The viewer cannot show this series. '), el('span', '', message));
  container.querySelector('.rs-loading')?.setAttribute('hidden', '');
  container.append(box);
}

export function readContainer(container) {
  const d = container.dataset;
  return {
    root: d.dicomwebRoot || '/dicomweb/',
    studyUid: d.studyUid,
    seriesUids: (d.seriesUids || d.seriesUid || '').split(',').filter(Boolean),
    seriesLabels: (d.seriesLabels || '').split('|'),
    credentials: d.credentials || 'same-origin',
  };
}

/** Is the key event meant for the viewer (not typed into a form field of the host page)? */
export function isViewerKey(event) {
  const t = event.target;
  return !(t && (t.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(t.tagName)));
}
