// Every label of the portal, in one catalogue: Chinese by default, English switchable.
const zh = {
  appTitle: "标准化试点申报", skip: "跳到正文", language: "English", languageLabel: "切换语言",
  signIn: "登录", signOut: "退出", username: "用户名", password: "密码", signedInAs: "当前用户",
  loading: "加载中…", saved: "已保存", save: "保存本节", error: "出错了", none: "暂无",
  home: "首页", applications: "我的申请", newApplication: "新建申请", call: "征集批次", state: "状态", all: "全部",
  filter: "筛选", open: "打开", title: "项目名称", domainArea: "领域（如 1.1）", domainItem: "方向（如 1.1.3）",
  recommender: "推荐单位", participating: "参加单位", guarantor: "保证单位", guidance: "业务指导单位",
  create: "创建", basic: "基本信息", contact: "联系人", contactName: "姓名", phone: "电话", email: "电子邮箱",
  period: "试点期限", start: "开始日期", end: "结束日期", sections: "申请书正文", funding: "经费",
  amount: "金额（元）", sources: "经费来源", eligibility: "申报条件", attest: "符合条件",
  validation: "完整性检查", valid: "可以提交", invalid: "尚不能提交", attachments: "附件", kind: "附件类型",
  dropHere: "拖放文件到此处，或选择文件", upload: "上传", uploading: "上传中", submit: "提交", formPdf: "查看申请书 PDF",
  signOffs: "各方签章进度", role: "角色", status: "状态", mode: "方式", verification: "核验",
  awaiting: "待本单位签章", digest: "内容摘要", decision: "意见", agree: "同意", disagree: "不同意",
  opinion: "签署意见", signatoryName: "签署人", signatoryTitle: "职务", signOnline: "在线签章", signPaper: "上传盖章页（纸质签章）",
  queue: "审核队列", verify: "核验纸质签章", confirmed: "一致", rejected: "不一致", recommend: "推荐", returnIt: "退回",
  reject: "不予推荐", list: "推荐名单", quota: "名额", deadline: "截止时间（北京时间）", remaining: "剩余",
  moveUp: "上移", moveDown: "下移", add: "加入名单", remove: "移出", saveList: "保存名单", submitList: "提交名单",
  newList: "新建名单", rank: "序号", receiptPdf: "回执 PDF", listPdf: "名单 PDF", packageZip: "电子版 ZIP",
  tracking: "受理编号", submittedAt: "提交时间", incoming: "收到的名单", acknowledge: "受理", outcome: "结果",
  approve: "批准", decline: "不批准", documentNumber: "文号", summary: "汇总", byProvince: "按推荐单位",
  byField: "按领域", byState: "按状态", organizations: "组织机构", creditCode: "统一社会信用代码",
  creditValid: "校验通过", creditMalformed: "格式不正确（18 位，不含 I、O、S、V、Z）", creditBadCheck: "校验码不正确",
  name: "名称", province: "省份代码", orgKind: "类型", users: "用户与角色", roles: "角色", displayName: "显示名称",
  organization: "所属单位", apiKeys: "API 密钥", keyName: "名称", keyShownOnce: "请立即复制，此密钥只显示一次：",
  revoke: "吊销", comment: "说明", items: "申请数", actions: "操作", back: "返回", notFound: "页面不存在",
  roleApplicant: "申报单位", roleSignatory: "签章人", roleReviewer: "省级审核", roleOffice: "联席办公室", roleAdmin: "管理员",
  fileTooLarge: "文件过大", fileType: "不支持的文件类型",
  standards: "标准明细", standardCode: "标准编号", standardTitle: "标准名称", standardLevel: "标准层级", standardStatus: "标准状态",
  addStandard: "增加一行",
};

export type Key = keyof typeof zh;

const en: Record<Key, string> = {
  appTitle: "Standardization pilot submissions", skip: "Skip to content", language: "中文", languageLabel: "Switch language",
  signIn: "Sign in", signOut: "Sign out", username: "Username", password: "Password", signedInAs: "Signed in as",
  loading: "Loading…", saved: "Saved", save: "Save this section", error: "Something went wrong", none: "None",
  home: "Home", applications: "My applications", newApplication: "New application", call: "Call", state: "State", all: "All",
  filter: "Filter", open: "Open", title: "Title", domainArea: "Area (e.g. 1.1)", domainItem: "Item (e.g. 1.1.3)",
  recommender: "Recommender", participating: "Participating unit", guarantor: "Guarantor", guidance: "Guidance unit",
  create: "Create", basic: "Basic information", contact: "Contact", contactName: "Name", phone: "Phone", email: "Email",
  period: "Pilot period", start: "Start", end: "End", sections: "Form sections", funding: "Funding",
  amount: "Amount (CNY)", sources: "Sources", eligibility: "Eligibility", attest: "Meets the condition",
  validation: "Completeness check", valid: "Ready to submit", invalid: "Not ready to submit", attachments: "Attachments", kind: "Kind",
  dropHere: "Drop a file here, or choose one", upload: "Upload", uploading: "Uploading", submit: "Submit", formPdf: "Open form PDF",
  signOffs: "Sign-off progress", role: "Role", status: "Status", mode: "Mode", verification: "Verification",
  awaiting: "Awaiting my organization's sign-off", digest: "Content digest", decision: "Decision", agree: "Agree", disagree: "Disagree",
  opinion: "Opinion", signatoryName: "Signatory", signatoryTitle: "Title", signOnline: "Sign online", signPaper: "Upload the stamped page (paper)",
  queue: "Review queue", verify: "Verify paper sign-off", confirmed: "Matches", rejected: "Does not match", recommend: "Recommend", returnIt: "Return",
  reject: "Reject", list: "Recommended list", quota: "Quota", deadline: "Deadline (Beijing time)", remaining: "Remaining",
  moveUp: "Move up", moveDown: "Move down", add: "Add to list", remove: "Remove", saveList: "Save list", submitList: "Submit list",
  newList: "New list", rank: "Rank", receiptPdf: "Receipt PDF", listPdf: "List PDF", packageZip: "Package ZIP",
  tracking: "Tracking number", submittedAt: "Submitted at", incoming: "Incoming lists", acknowledge: "Acknowledge", outcome: "Outcome",
  approve: "Approve", decline: "Decline", documentNumber: "Document number", summary: "Summary", byProvince: "By recommender",
  byField: "By field", byState: "By state", organizations: "Organizations", creditCode: "Unified social credit code",
  creditValid: "Check passed", creditMalformed: "Malformed (18 characters, no I, O, S, V, Z)", creditBadCheck: "Wrong check character",
  name: "Name", province: "Province code", orgKind: "Kind", users: "Users and roles", roles: "Roles", displayName: "Display name",
  organization: "Organization", apiKeys: "API keys", keyName: "Name", keyShownOnce: "Copy it now, this key is shown only once:",
  revoke: "Revoke", comment: "Comment", items: "Applications", actions: "Actions", back: "Back", notFound: "No such page",
  roleApplicant: "Applicant", roleSignatory: "Signatory", roleReviewer: "Provincial reviewer", roleOffice: "Joint office", roleAdmin: "Administrator",
  fileTooLarge: "File too large", fileType: "Unsupported file type",
  standards: "Standards", standardCode: "Standard code", standardTitle: "Standard title", standardLevel: "Level", standardStatus: "Status",
  addStandard: "Add a row",
};

const LANGUAGE_KEY = "smps.language";
export type Language = "zh-CN" | "en";

export function language(): Language {
  return localStorage.getItem(LANGUAGE_KEY) === "en" ? "en" : "zh-CN";
}

export function setLanguage(value: Language): void {
  localStorage.setItem(LANGUAGE_KEY, value);
  document.documentElement.lang = value;
}

export function t(key: Key): string {
  return language() === "en" ? en[key] : zh[key];
}
