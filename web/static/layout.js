// On load: open the filter panel on wide screens; when an answer arrives, bring its first line into view
// (the page is the only scroll: the question at the top of the viewport, the answer's start under it).
// %d is web.page.NARROW_PX.
() => {
  if (window.__npcLayout) return [];
  window.__npcLayout = true;
  const narrow = () => window.matchMedia('(max-width: %dpx)').matches;
  let placed = false;  // the panel is opened once, when it first appears (after a login when the chat is gated)
  const openWide = () => {
    const head = placed ? null : document.querySelector('#filters .label-wrap');
    if (!head || !head.offsetParent) return;
    placed = true;
    if (!narrow() && !head.classList.contains('open')) head.click();
  };
  const DONE = '.npc-msg-answer:not(.npc-streaming), .npc-msg-cautious, .npc-msg-refused, .npc-notice';
  let seenQ = 0, seenA = 0, answeredQ = 0;
  const rowOf = (e) => e.closest('.message-row') || e;
  const bring = (q, a) => {
    const top = (e) => rowOf(e).getBoundingClientRect().top + window.scrollY;
    let y = q ? top(q) : top(a);
    if (q && a) { y = Math.max(y, top(a) - window.innerHeight * 0.3); }  // a long question: the answer wins
    window.scrollTo({ top: Math.max(0, y - 8), behavior: 'instant' });
  };
  const check = () => {
    openWide();
    const chat = document.querySelector('#chat');
    if (!chat) return;
    const qs = chat.querySelectorAll('.npc-q'), as = chat.querySelectorAll(DONE);
    if (qs.length < seenQ || as.length < seenA) {  // 新对话
      seenQ = answeredQ = qs.length; seenA = as.length; return;
    }
    if (qs.length > seenQ) { seenQ = qs.length; bring(qs[qs.length - 1], null); }
    if (as.length > seenA) {  // a finished answer (or notice): its question, if new, stays above it
      seenA = as.length;
      const q = qs.length > answeredQ ? qs[qs.length - 1] : null;
      answeredQ = qs.length;
      bring(q, as[as.length - 1]);
    }
  };
  let queued = false;  // one check per frame, however many mutations (streaming)
  new MutationObserver(() => {
    if (!queued) { queued = true; requestAnimationFrame(() => { queued = false; check(); }); }
  }).observe(document.body, { childList: true, subtree: true, attributes: true, attributeFilter: ['class'] });
  check();
  return [];
}
