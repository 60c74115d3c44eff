import { createNarrator, newCorrelationId, withCorrelation } from '@vramseal/narration-core';

const narrator = createNarrator({ actor: 'vram-manager' });

withCorrelation(newCorrelationId(), () => {
  narrator.info({
    action: 'seal',
    target: 'shard-0',
    human: 'Sealed shard 0 of llama-3-8b on GPU0 (token=abc123 was used).',
    device: 'GPU0',
    duration_ms: 412,
  });
});
