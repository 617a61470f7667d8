/** The lineage question: which table (and partition), which direction, how deep. */
import { useEffect, useState } from 'preact/hooks';
import { useClient } from '../api.js';
import { useAsync } from '../use-async.js';

export interface LineageQuestion {
  readonly table: string;
  /** Empty: the whole table. */
  readonly partition: string;
  readonly direction: 'upstream' | 'downstream';
  readonly depth: number;
}

export function LineageControls(props: {
  question: LineageQuestion;
  onAsk: (question: LineageQuestion) => void;
}) {
  const client = useClient();
  const tables = useAsync(() => client.tables.list(), [client]);
  const { question, onAsk } = props;
  // The partition is typed: it is asked on Enter (or Show), not on every key.
  const [partition, setPartition] = useState(question.partition);
  useEffect(() => setPartition(question.partition), [question.partition]);

  const names = (tables.state === 'done' ? tables.value : []).map((t) => `${t.database}.${t.measurement}`);
  if (question.table && !names.includes(question.table)) names.unshift(question.table);

  return (
    <form
      class="toolbar"
      onSubmit={(e) => {
        e.preventDefault();
        onAsk({ ...question, partition: partition.trim() });
      }}
    >
      <label class="field-inline">
        <span>Table</span>
        <select
          data-testid="lineage-table"
          value={question.table}
          onChange={(e) => onAsk({ ...question, table: e.currentTarget.value, partition: '' })}
        >
          <option value="">choose…</option>
          {names.map((name) => (
            <option key={name} value={name}>
              {name}
            </option>
          ))}
        </select>
      </label>
      <label class="field-inline">
        <span>Partition</span>
        <input
          data-testid="lineage-partition"
          placeholder="date=YYYY-MM-DD/hour=HH (optional)"
          size={30}
          value={partition}
          onInput={(e) => setPartition(e.currentTarget.value)}
        />
      </label>
      <label class="field-inline">
        <span>Direction</span>
        <select
          data-testid="lineage-direction"
          value={question.direction}
          onChange={(e) =>
            onAsk({ ...question, direction: e.currentTarget.value as LineageQuestion['direction'] })
          }
        >
          <option value="upstream">upstream (made from)</option>
          <option value="downstream">downstream (made into)</option>
        </select>
      </label>
      <label class="field-inline">
        <span>Depth</span>
        <input
          data-testid="lineage-depth"
          type="number"
          min={1}
          max={100}
          class="depth-input"
          value={question.depth}
          onChange={(e) => {
            const depth = Number(e.currentTarget.value);
            if (Number.isInteger(depth) && depth >= 1 && depth <= 100) onAsk({ ...question, depth });
          }}
        />
      </label>
      <button type="submit" data-testid="lineage-show">
        Show
      </button>
    </form>
  );
}
