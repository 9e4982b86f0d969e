// Data forms: building forms and result tables, reading submitted values. XEP-0004.
// Shared by features that ask the user for input (XEP-0050 ad-hoc commands for now).
import { x, type Element } from '../../xmpp/xml/element.js';

export const DATA_FORMS_NS = 'jabber:x:data';

export type FieldType = 'text-single' | 'text-multi' | 'list-single' | 'fixed' | 'hidden' | 'jid-single' | 'boolean';

export interface FormField {
  var: string;
  type: FieldType;
  label?: string;
  required?: boolean;
  /** Several values only for multi types; text-multi puts one line in each. */
  value?: string | string[];
  /** For list-single: what the user picks from. */
  options?: Array<{ label: string; value: string }>;
}

export interface FormOptions {
  title?: string;
  instructions?: string;
  fields?: FormField[];
}

export function fieldElement(f: FormField): Element {
  const values = f.value === undefined ? [] : Array.isArray(f.value) ? f.value : [f.value];
  return x(
    'field',
    { var: f.var, type: f.type, label: f.label },
    f.required && x('required'),
    ...values.map((v) => x('value', null, v)),
    ...(f.options ?? []).map((o) => x('option', { label: o.label }, x('value', null, o.value))),
  );
}

/** `<x type='form'>` to fill in, or `<x type='result'>` with values to show. */
export function dataForm(type: 'form' | 'result', opts: FormOptions): Element {
  return x(
    'x',
    { xmlns: DATA_FORMS_NS, type },
    opts.title !== undefined && x('title', null, opts.title),
    // Several lines of instructions are several elements (XEP-0004 §3.1).
    ...(opts.instructions ?? '').split('\n').filter(Boolean).map((line) => x('instructions', null, line)),
    ...(opts.fields ?? []).map(fieldElement),
  );
}

/**
 * The values of a submitted form, one string per field (several values joined by newlines);
 * undefined when `parent` holds no data form, 'cancel' when the user canceled it (XEP-0004 §3.1).
 */
export function submittedValues(parent: Element): Record<string, string> | 'cancel' | undefined {
  const form = parent.getChild('x', DATA_FORMS_NS);
  if (!form) return undefined;
  if (form.attr('type') === 'cancel') return 'cancel';
  const values: Record<string, string> = {};
  for (const field of form.getChildren('field')) {
    const name = field.attr('var');
    // FORM_TYPE and the like are not user input.
    if (!name || field.attr('type') === 'hidden') continue;
    values[name] = field.getChildren('value').map((v) => v.text()).join('\n');
  }
  return values;
}
