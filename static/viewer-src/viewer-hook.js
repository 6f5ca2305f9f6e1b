// Mounting and the small test/benchmark hook: window.radsynthViewer (the last viewer mounted).

export function timer() {
  const marks = {};
  return {
    marks,
    mark(name) {
      if (marks[name] === undefined) marks[name] = performance.now();
    },
  };
}

/**
 * window.radsynthViewer: { ready, firstImage (promises), timings, setPreset(name), setTool(name),
 * reset(), jumpToWorld([x, y, z]), getViewportCanvases(), viewportIds, getCamera(id),
 * worldToCanvas(id, point) } — what browser tests and the benchmark drive.
 */
export function exposeTestHook(container, api) {
  let resolveReady;
  let rejectReady;
  let resolveFirst;
  const ready = new Promise((resolve, reject) => {
    resolveReady = resolve;
    rejectReady = reject;
  });
  const firstImage = new Promise((resolve) => {
    resolveFirst = resolve;
  });
  ready.catch(() => {});
  const viewer = {
    container,
    ready,
    firstImage,
    timings: api.clock.marks,
    setPreset: api.setPreset,
    setTool: api.setTool,
    reset: api.reset,
    getPreset: api.getPreset,
    jumpToWorld: api.jumpToWorld,
    get viewportIds() {
      return api.viewportIds();
    },
    getViewportCanvases() {
      const engine = api.engine();
      if (!engine) return {};
      return Object.fromEntries(
        Object.entries(api.viewportIds()).map(([name, id]) => [name, engine.getViewport(id)?.getCanvas()]),
      );
    },
    getCamera(name) {
      return api.engine()?.getViewport(api.viewportIds()[name])?.getCamera();
    },
    worldToCanvas(name, point) {
      return api.engine()?.getViewport(api.viewportIds()[name])?.worldToCanvas(point);
    },
    error: null,
  };
  container.radsynthViewer = viewer;
  window.radsynthViewer = viewer;
  return {
    resolveReady() {
      api.clock.mark('ready');
      container.dataset.state = 'ready';
      resolveReady(viewer);
    },
    resolveFirstImage() {
      api.clock.mark('firstImage');
      container.dataset.firstImage = 'yes';
      resolveFirst(viewer);
    },
    reject(error) {
      viewer.error = error.message || String(error);
      container.dataset.state = 'error';
      rejectReady(error);
    },
  };
}

// A full-page viewer takes the window height below whatever the page puts above it, so the
// bottom overlays (W/L, orientation letters) are never scrolled out of sight.
function fitToWindow(node) {
  if (node.classList.contains('rs-embedded')) return;
  const fit = () => {
    const top = node.getBoundingClientRect().top + window.scrollY;
    node.style.height = `${Math.max(420, window.innerHeight - top)}px`;
  };
  fit();
  window.addEventListener('resize', fit);
}

export function mountAll(mode, start) {
  const run = () =>
    document.querySelectorAll(`.rs-viewer[data-mode="${mode}"]:not([data-mounted])`).forEach((node) => {
      node.dataset.mounted = 'yes';
      fitToWindow(node);
      start(node);
    });
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', run);
  else run();
}

/** Re-fit viewports when their box changes size, keeping zoom and pan; ignores the first call. */
export function observeResize(node, engine) {
  let seen = false;
  new ResizeObserver(() => {
    if (seen) engine.resize(true, true);
    seen = true;
  }).observe(node);
}
