// Three-plane CT viewer: axial, coronal and sagittal ORTHOGRAPHIC viewports on one streamed volume,
// linked by crosshairs. Mounts on every `.rs-viewer[data-mode="ct"]` element of the page.
import './viewer.css';
import {
  RenderingEngine,
  Enums,
  volumeLoader,
  setVolumesForViewports,
  eventTarget,
  utilities,
} from '@cornerstonejs/core';
import { initCornerstone, loadSeriesImageIds, studyDescription } from './dicomweb-loader.js';
import { createToolGroup } from './tools-setup.js';
import {
  PRESETS,
  TOOL_KEYS,
  buildLoading,
  buildToolbar,
  buildViewportBox,
  isViewerKey,
  markActive,
  readContainer,
  showError,
  toggleHelp,
  updateOrientationMarks,
  windowLevelText,
} from './viewer-ui.js';
import { exposeTestHook, mountAll, observeResize, timer } from './viewer-hook.js';

const VIEWS = [
  { id: 'axial', title: 'Axial', orientation: Enums.OrientationAxis.AXIAL, color: 'rgb(255, 80, 80)' },
  { id: 'coronal', title: 'Coronal', orientation: Enums.OrientationAxis.CORONAL, color: 'rgb(80, 220, 80)' },
  { id: 'sagittal', title: 'Sagittal', orientation: Enums.OrientationAxis.SAGITTAL, color: 'rgb(90, 150, 255)' },
];
const DEFAULT_PRESET = 'soft';
const RENDER_INTERVAL_MS = 1500;

let viewerCount = 0;

async function startCtViewer(container) {
  viewerCount += 1;
  const config = readContainer(container);
  const clock = timer();
  clock.mark('start'); // the bundle is loaded and running: what follows depends on the server
  container.classList.add('rs-ct');
  const prefix = `ct${viewerCount}-`;
  const ids = Object.fromEntries(VIEWS.map((v) => [v.id, prefix + v.id]));
  const colors = Object.fromEntries(VIEWS.map((v) => [ids[v.id], v.color]));

  let tools = null;
  let engine = null;
  let currentPreset = DEFAULT_PRESET;
  const toolbar = buildToolbar(container, {
    tools: ['Crosshairs', 'WindowLevel', 'Pan', 'Zoom'],
    onPreset: (name) => setPreset(name),
    onTool: (tool) => setTool(tool),
    onReset: () => reset(),
  });
  const grid = document.createElement('div');
  grid.className = 'rs-grid rs-grid-3';
  container.append(grid);
  const boxes = Object.fromEntries(VIEWS.map((v) => [v.id, buildViewportBox(grid, v)]));
  const loading = buildLoading(container);
  const viewports = () => VIEWS.map((v) => engine.getViewport(ids[v.id]));

  function setPreset(name, { render = true } = {}) {
    const preset = PRESETS[name];
    if (!preset || !engine) return;
    const voiRange = utilities.windowLevel.toLowHighRange(preset.width, preset.level);
    for (const vp of viewports()) vp.setProperties({ voiRange });
    if (render) engine.render();
    currentPreset = name;
    markActive(toolbar.buttons, { preset: name });
  }

  function setTool(tool) {
    if (!tools) return;
    markActive(toolbar.buttons, { tool: tools.setPrimary(tool) });
  }

  function reset() {
    if (!engine) return;
    for (const vp of viewports()) vp.resetCamera();
    tools?.crosshairsTool()?.computeToolCenter?.();
    setPreset(DEFAULT_PRESET);
  }

  // Slice numbers count in patient order (from inferior, anterior, right), like the series itself,
  // not from whichever side the camera looks.
  function patientSlice(vp, focalPoint, axis) {
    const volume = vp.getImageData?.();
    if (!volume?.dimensions) return null;
    const { dimensions, spacing, origin, direction } = volume;
    for (let i = 0; i < 3; i += 1) {
      const dir = [direction[i * 3], direction[i * 3 + 1], direction[i * 3 + 2]];
      if (Math.abs(dir[axis]) < 0.9) continue;
      const k = Math.round((focalPoint[axis] - origin[axis]) / (spacing[i] * dir[axis]));
      const n = dimensions[i];
      return dir[axis] > 0 ? { index: k, n } : { index: n - 1 - k, n };
    }
    return null;
  }

  function refreshOverlay(view) {
    const vp = engine.getViewport(ids[view.id]);
    const box = boxes[view.id];
    if (!vp) return;
    const { focalPoint, viewPlaneNormal } = vp.getCamera();
    // The patient coordinate the slice cuts: z for axial, y for coronal, x for sagittal.
    const magnitudes = viewPlaneNormal.map(Math.abs);
    const axis = magnitudes.indexOf(Math.max(...magnitudes));
    const slice = patientSlice(vp, focalPoint, axis);
    const where = `${['x', 'y', 'z'][axis]} = ${focalPoint[axis].toFixed(1)} mm`;
    box.slice.textContent = slice ? `Slice ${slice.index + 1}/${slice.n}  ${where}` : where;
    box.wl.textContent = windowLevelText(vp);
    updateOrientationMarks(vp, box.marks);
  }

  function onKey(event) {
    if (!engine || !isViewerKey(event) || event.ctrlKey || event.metaKey || event.altKey) return;
    const key = event.key.toLowerCase();
    const preset = Object.entries(PRESETS).find(([, p]) => p.key === key);
    if (preset) setPreset(preset[0]);
    else if (TOOL_KEYS[key]) setTool(TOOL_KEYS[key]);
    else if (key === 'r') reset();
    else if (key === '?') toggleHelp(container);
    else if (key === 'escape') toggleHelp(container, false);
    else if (['arrowup', 'arrowdown', 'pageup', 'pagedown'].includes(key)) {
      const hovered = container.querySelector('.rs-vp:hover')?.dataset.viewport || 'axial';
      const step = key.startsWith('page') ? 5 : 1;
      utilities.scroll(engine.getViewport(ids[hovered]), { delta: key.endsWith('up') ? -step : step });
    } else return;
    event.preventDefault();
  }

  const hook = exposeTestHook(container, {
    clock,
    setPreset,
    setTool,
    reset,
    getPreset: () => currentPreset,
    viewportIds: () => ({ ...ids }),
    engine: () => engine,
    jumpToWorld(point) {
      // Through the crosshairs' centre, so all three planes and the lines move together.
      const crosshairs = tools?.crosshairsTool();
      if (crosshairs?.setToolCenter) crosshairs.setToolCenter(point);
      else for (const vp of viewports()) vp.jumpToWorld(point);
      engine.render();
    },
  });

  try {
    initCornerstone();
    const seriesUid = config.seriesUids[0];
    const { imageIds, instances } = await loadSeriesImageIds({ ...config, seriesUid });
    clock.mark('metadata');
    const about = studyDescription(instances);
    toolbar.status.textContent = [about.modality, about.series || about.study].filter(Boolean).join(' · ');
    engine = new RenderingEngine(`rs-engine-${prefix}`);
    engine.setViewports(
      VIEWS.map((v) => ({
        viewportId: ids[v.id],
        type: Enums.ViewportType.ORTHOGRAPHIC,
        element: boxes[v.id].element,
        defaultOptions: { orientation: v.orientation, background: [0, 0, 0] },
      })),
    );
    tools = createToolGroup({
      renderingEngineId: engine.id,
      viewportIds: Object.values(ids),
      crosshairs: true,
      colors,
    });
    const volumeId = `cornerstoneStreamingImageVolume:rs-${prefix}${seriesUid}`;
    const volume = await volumeLoader.createAndCacheVolume(volumeId, { imageIds });
    const total = imageIds.length;
    // First image: the viewports hold the volume and at least one frame is in its texture;
    // two animation frames later the render that shows it has reached the screen.
    let frameSeen = false;
    let viewportsSet = false;
    let firstMarked = false;
    const maybeFirstImage = () => {
      if (firstMarked || !frameSeen || !viewportsSet) return;
      firstMarked = true;
      clock.mark('firstFrame');
      // Marked when the render that includes the frame has happened, not when it was asked for.
      boxes.axial.element.addEventListener(Enums.Events.IMAGE_RENDERED, () => hook.resolveFirstImage(), {
        once: true,
      });
      engine.render();
    };
    // Progressive display at a bounded rate: with software WebGL every render of three planes
    // (read back to the page's canvases) costs ~0.3 s, more than the frames it would show.
    let lastRender = 0;
    const onModified = (evt) => {
      if (evt.detail.volumeId !== volumeId) return;
      loading.set(evt.detail.framesProcessed, total);
      frameSeen = true;
      if (!firstMarked) {
        maybeFirstImage();
        lastRender = performance.now();
      } else if (viewportsSet && performance.now() - lastRender > RENDER_INTERVAL_MS) {
        lastRender = performance.now();
        engine.render();
      }
    };
    eventTarget.addEventListener(Enums.Events.IMAGE_VOLUME_MODIFIED, onModified);
    const completed = new Promise((resolve) => {
      const onDone = (evt) => {
        if (evt.detail.volumeId !== volumeId) return;
        eventTarget.removeEventListener(Enums.Events.IMAGE_VOLUME_LOADING_COMPLETED, onDone);
        eventTarget.removeEventListener(Enums.Events.IMAGE_VOLUME_MODIFIED, onModified);
        resolve();
      };
      eventTarget.addEventListener(Enums.Events.IMAGE_VOLUME_LOADING_COMPLETED, onDone);
    });
    loading.set(0, total);
    // Viewports first, then stream: frames that arrive early are drawn at once instead of
    // competing with viewport set-up for the main thread.
    // No render until the first frame is in: an empty volume drawn costs as much as a full one.
    await setVolumesForViewports(engine, [{ volumeId }], Object.values(ids), false, true);
    setPreset(DEFAULT_PRESET, { render: false });
    setTool('Crosshairs');
    clock.mark('viewports');
    viewportsSet = true;
    volume.autoRenderOnLoad = false; // onModified renders instead, at a bounded rate
    volume.load();
    for (const v of VIEWS) {
      boxes[v.id].element.addEventListener(Enums.Events.CAMERA_MODIFIED, () => refreshOverlay(v));
      boxes[v.id].element.addEventListener(Enums.Events.VOI_MODIFIED, () => refreshOverlay(v));
      boxes[v.id].element.addEventListener(Enums.Events.IMAGE_RENDERED, () => refreshOverlay(v));
    }
    observeResize(grid, engine);
    document.addEventListener('keydown', onKey);
    await completed;
    engine.render();
    loading.done();
    VIEWS.forEach(refreshOverlay);
    clock.mark('volume');
    hook.resolveReady();
  } catch (error) {
    console.error(error);
    showError(container, error.message || String(error));
    hook.reject(error);
  }
}

mountAll('ct', startCtViewer);
