// Chest radiograph viewer: frontal and lateral side by side (STACK viewports), same tools as CT
// minus crosshairs. Mounts on every `.rs-viewer[data-mode="cxr"]` element of the page.
import './viewer.css';
import { RenderingEngine, Enums } from '@cornerstonejs/core';
import { initCornerstone, loadSeriesImageIds, studyDescription } from './dicomweb-loader.js';
import { createToolGroup } from './tools-setup.js';
import {
  TOOL_KEYS,
  buildLoading,
  buildToolbar,
  buildViewportBox,
  isViewerKey,
  markActive,
  readContainer,
  showError,
  toggleHelp,
  windowLevelText,
} from './viewer-ui.js';
import { exposeTestHook, mountAll, observeResize, timer } from './viewer-hook.js';

const OPPOSITE = { L: 'R', R: 'L', A: 'P', P: 'A', H: 'F', F: 'H' };
const flip = (text) => [...text].map((c) => OPPOSITE[c] || c).join('');

// Radiographs carry PatientOrientation (row direction, column direction) instead of a 3-D plane.
function projectionMarks(instance, marks) {
  const value = instance?.['00200020']?.Value || [];
  const [row = '', column = ''] = value;
  marks.right.textContent = row;
  marks.left.textContent = flip(row);
  marks.bottom.textContent = column;
  marks.top.textContent = flip(column);
}

let viewerCount = 0;

async function startCxrViewer(container) {
  viewerCount += 1;
  const config = readContainer(container);
  const clock = timer();
  container.classList.add('rs-cxr');
  const prefix = `cxr${viewerCount}-`;
  const views = config.seriesUids.map((uid, i) => ({
    id: `view${i + 1}`,
    title: config.seriesLabels[i] || (i === 0 ? 'Frontal' : 'Lateral'),
    seriesUid: uid,
  }));
  const ids = Object.fromEntries(views.map((v) => [v.id, prefix + v.id]));
  let engine = null;
  let tools = null;
  const toolbar = buildToolbar(container, {
    tools: ['WindowLevel', 'Pan', 'Zoom'],
    showPresets: false,
    onPreset: () => {},
    onTool: (tool) => setTool(tool),
    onReset: () => reset(),
  });
  const grid = document.createElement('div');
  grid.className = `rs-grid rs-grid-${Math.max(1, views.length)}`;
  container.append(grid);
  const boxes = Object.fromEntries(views.map((v) => [v.id, buildViewportBox(grid, v)]));
  const loading = buildLoading(container);
  const viewports = () => views.map((v) => engine.getViewport(ids[v.id]));

  function setTool(tool) {
    if (tools) markActive(toolbar.buttons, { tool: tools.setPrimary(tool) });
  }
  function reset() {
    if (!engine) return;
    for (const vp of viewports()) vp.resetCamera();
    for (const vp of viewports()) vp.resetProperties();
    engine.render();
  }
  function setPreset(name) {
    // Radiographs have no HU: "default" is the window stored in the image.
    if (name === 'default') reset();
  }
  function onKey(event) {
    if (!engine || !isViewerKey(event) || event.ctrlKey || event.metaKey || event.altKey) return;
    const key = event.key.toLowerCase();
    if (TOOL_KEYS[key]) setTool(TOOL_KEYS[key]);
    else if (key === 'r') reset();
    else if (key === 'i') {
      for (const vp of viewports()) vp.setProperties({ invert: !vp.getProperties().invert });
      engine.render();
    } else if (key === '?') toggleHelp(container);
    else if (key === 'escape') toggleHelp(container, false);
    else return;
    event.preventDefault();
  }

  const hook = exposeTestHook(container, {
    clock,
    setPreset,
    setTool,
    reset,
    getPreset: () => 'default',
    viewportIds: () => ({ ...ids }),
    engine: () => engine,
    jumpToWorld() {},
  });

  try {
    if (!views.length) throw new Error('No radiograph series to show.');
    initCornerstone();
    const loaded = await Promise.all(views.map((v) => loadSeriesImageIds({ ...config, seriesUid: v.seriesUid })));
    clock.mark('metadata');
    toolbar.status.textContent = studyDescription(loaded[0].instances).study || 'Chest radiograph';
    engine = new RenderingEngine(`rs-engine-${prefix}`);
    engine.setViewports(
      views.map((v) => ({
        viewportId: ids[v.id],
        type: Enums.ViewportType.STACK,
        element: boxes[v.id].element,
        defaultOptions: { background: [0, 0, 0] },
      })),
    );
    tools = createToolGroup({ renderingEngineId: engine.id, viewportIds: Object.values(ids), crosshairs: false });
    setTool('WindowLevel');
    const total = loaded.reduce((n, l) => n + l.imageIds.length, 0);
    let done = 0;
    loading.set(0, total);
    await Promise.all(
      views.map(async (v, i) => {
        const vp = engine.getViewport(ids[v.id]);
        const box = boxes[v.id];
        const refresh = () => {
          const n = vp.getNumberOfSlices?.() || 1;
          box.slice.textContent = n > 1 ? `Image ${vp.getCurrentImageIdIndex() + 1}/${n}` : '';
          box.wl.textContent = windowLevelText(vp);
        };
        box.element.addEventListener(Enums.Events.IMAGE_RENDERED, refresh);
        box.element.addEventListener(Enums.Events.VOI_MODIFIED, refresh);
        await vp.setStack(loaded[i].imageIds, 0);
        projectionMarks(loaded[i].instances[0], box.marks);
        box.info.textContent = loaded[i].instances[0]?.['00185101']?.Value?.[0] || '';
        vp.render();
        done += loaded[i].imageIds.length;
        loading.set(done, total);
        if (done === loaded[i].imageIds.length) {
          requestAnimationFrame(() => requestAnimationFrame(() => hook.resolveFirstImage()));
        }
      }),
    );
    observeResize(grid, engine);
    document.addEventListener('keydown', onKey);
    engine.render();
    loading.done();
    clock.mark('volume');
    await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
    hook.resolveReady();
  } catch (error) {
    console.error(error);
    showError(container, error.message || String(error));
    hook.reject(error);
  }
}

mountAll('cxr', startCxrViewer);
