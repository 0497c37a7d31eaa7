// 复制回答: the clipboard API where the page is a secure context, a hidden textarea elsewhere.
(text) => {
  const btn = document.querySelector('#copy');
  const say = (msg) => { if (!btn) return; const old = btn.dataset.label || btn.textContent;
    btn.dataset.label = old; btn.textContent = msg; setTimeout(() => { btn.textContent = old; }, 2000); };
  if (!text) { say('还没有可复制的回答'); return []; }
  const fallback = () => { const ta = document.createElement('textarea'); ta.value = text;
    ta.style.position = 'fixed'; ta.style.opacity = '0'; document.body.appendChild(ta); ta.select();
    let ok = false; try { ok = document.execCommand('copy'); } catch (e) {} ta.remove();
    say(ok ? '已复制 ✓' : '复制失败，请手动选择文本'); };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(() => say('已复制 ✓'), fallback);
  } else { fallback(); }
  return [];
}
