// The flicker view's behaviour (gr.HTML js_on_load). Gradio runs this once per mount with element (the
// component's root), props (props.value is the value from Python) and watch; it does not re-run on updates.
// State lives in this closure; the template is re-rendered (and DOM patched) when Python sends a new value, so
// every tick looks elements up again and apply() re-imposes the state.
const st = {i: 0, decoded: false, paused: false, ms: Number(props.value && props.value.ms) || 500, zoom: 'fit',
            timer: null};
const q = (s) => element.querySelector(s);
const items = () => (props.value && props.value.items) || [];
function apply() {
  const n = items().length, root = q('.flk');
  if (!root) return;
  if (!n) { root.dataset.showing = 'original'; return; }
  if (st.i >= n) st.i = 0;
  element.querySelectorAll('.flk-b').forEach((img) => {
    img.style.visibility = (st.decoded && Number(img.dataset.i) === st.i) ? 'visible' : 'hidden';
  });
  element.querySelectorAll('.flk-codec').forEach((b) => b.classList.toggle('selected', Number(b.dataset.i) === st.i));
  root.dataset.showing = st.decoded ? 'decoded' : 'original';
  root.dataset.zoom = st.zoom;
  element.querySelectorAll('.flk-zoom').forEach((b) => b.classList.toggle('selected', b.dataset.z === st.zoom));
  const tag = q('.flk-tag'); if (tag) tag.textContent = st.decoded ? items()[st.i].label : 'Original';
  const cap = q('.flk-caption'); if (cap) cap.textContent = items()[st.i].caption || '';
  const rate = q('.flk-rate'); if (rate && Number(rate.value) !== st.ms) rate.value = st.ms;
  const ms = q('.flk-ms'); if (ms) ms.textContent = st.ms + ' ms';
  const pause = q('.flk-pause'); if (pause) pause.textContent = st.paused ? '▶ Play' : '❚❚ Pause';
}
function restart() {
  clearInterval(st.timer);
  if (!st.paused && items().length) st.timer = setInterval(() => { st.decoded = !st.decoded; apply(); }, st.ms);
  apply();
}
element.addEventListener('click', (e) => {
  const codec = e.target.closest('.flk-codec');
  if (codec) { st.i = Number(codec.dataset.i); st.decoded = true; restart(); return; }
  if (e.target.closest('.flk-pause')) { st.paused = !st.paused; restart(); return; }
  const zoom = e.target.closest('.flk-zoom');
  if (zoom) { st.zoom = zoom.dataset.z; apply(); return; }
  if (st.paused && e.target.closest('.flk-stage')) { st.decoded = !st.decoded; apply(); }
});
element.addEventListener('input', (e) => {
  if (e.target.closest('.flk-rate')) { st.ms = Math.max(50, Number(e.target.value) || 500); restart(); }
});
watch('value', () => { st.i = 0; st.decoded = false; restart(); });
restart();
